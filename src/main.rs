use clap::Parser;

fn main() {
    bodywork::telemetry::init();
    let cli = bodywork::cli::Cli::parse();
    if let Err(e) = bodywork::cli::run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
