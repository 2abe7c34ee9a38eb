use clap::Parser;

/// mimalloc instead of the system allocator: a search answer allocates its result lines, and
/// glibc's malloc took about a tenth of a search's time under load (measured with perf).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    bodywork::telemetry::init();
    let cli = bodywork::cli::Cli::parse();
    if let Err(e) = bodywork::cli::run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
