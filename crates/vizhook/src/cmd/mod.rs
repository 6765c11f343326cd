//! One module per command.

mod serve;

use crate::cli::Command;

pub(crate) async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve::run(args).await,
        Command::DefaultConfig => {
            #[allow(
                clippy::print_stdout,
                reason = "printing the configuration is the command's output"
            )]
            {
                print!("{}", vizhook_server::config::DEFAULT_CONFIG);
            }
            Ok(())
        }
    }
}
