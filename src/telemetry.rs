//! Structured logs (tracing). `RUST_LOG` filters them (default `info`); `BODYWORK_LOG_FORMAT=json`
//! prints one JSON object a line. Each request's span carries its request id (tracing-actix-web).

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("BODYWORK_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
