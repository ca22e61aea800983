//! The `kairan` command: parses arguments, calls the library, maps outcomes to exit statuses
//! (0 all well, 1 a source or the refresh failed, 2 usage or configuration).

mod cli;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use cli::Out;
use kairan::Config;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "kairan",
    version,
    about = "Per-topic Atom feeds from security-advisory listings"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Print nothing, not even errors: the exit status tells
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Also print what each source gave, per-row warnings and a summary
    #[arg(long, short, global = true)]
    verbose: bool,
    /// How messages on stderr are written
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    /// One JSON object per line, for log collectors
    Json,
}

#[derive(Args)]
struct ConfigArgs {
    /// Configuration file [default: ./kairan.toml if present, else the built-in one]
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// State file, or a postgres:// URL (overrides [state] path and url)
    #[arg(long)]
    state: Option<String>,
}

#[derive(Subcommand)]
enum StateCommand {
    /// Copy a whole state into one that holds no entry (a new one is made): every entry keeps
    /// its id, so readers see no duplicate after the move.
    Copy {
        /// The state to read: a file, or a postgres:// URL
        from: String,
        /// The state to write: a file, or a postgres:// URL
        to: String,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Fetch every source once, update the state, publish the feeds and send the notifications.
    Run {
        #[command(flatten)]
        config: ConfigArgs,
        /// Output directory, or an s3://bucket/prefix/ URL (overrides [output] dir and url)
        #[arg(long)]
        out: Option<String>,
        /// Wait for a run that holds the state to finish, instead of exiting at once
        #[arg(long)]
        wait: bool,
    },
    /// Refresh on a schedule and serve the feeds over HTTP, until SIGINT or SIGTERM.
    Serve {
        #[command(flatten)]
        config: ConfigArgs,
        /// Address to listen on (overrides [serve] listen) [default: 127.0.0.1:8080]
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Output directory, or an s3://bucket/prefix/ URL (overrides [output] dir and url)
        #[arg(long)]
        out: Option<String>,
    },
    /// Show what the configuration extracts, and what a run would notify, without storing,
    /// writing or sending anything.
    Check {
        #[command(flatten)]
        config: ConfigArgs,
        /// Check only this source
        #[arg(long)]
        source: Option<String>,
        /// Read this saved page (or feed) instead of fetching; needs --source
        #[arg(long, requires = "source")]
        file: Option<PathBuf>,
        /// Also fetch the first rows' own pages and show what [source.article] reads from them
        #[arg(long, requires = "source")]
        article: bool,
        /// Print the result as JSON on stdout
        #[arg(long)]
        json: bool,
    },
    /// Why a stored entry is in its topics, and which rows it was merged from.
    Explain {
        #[command(flatten)]
        config: ConfigArgs,
        /// The entry's link, or its title or part of it
        entry: String,
    },
    /// The topics, how many stored entries each has, and their feeds.
    Topics {
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Each source's last success, last error and consecutive failures; each notification's
    /// waiting and failing messages.
    Status {
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Propose a [[source]] for a listing page or feed, without reading its HTML.
    Suggest {
        /// The page to read
        #[arg(required_unless_present = "file", conflicts_with = "file")]
        url: Option<url::Url>,
        /// Read this saved page instead of fetching; --url says where it came from
        #[arg(long, requires = "page_url")]
        file: Option<PathBuf>,
        /// The saved page's address, against which its links resolve
        #[arg(long = "url", id = "page_url", value_name = "URL")]
        page_url: Option<url::Url>,
        /// Every ranked candidate, with its first rows, as JSON on stdout
        #[arg(long)]
        json: bool,
        /// Configuration whose [fetch] settings and time zone to use [default: ./kairan.toml if present, else the built-in one]
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Move a state between backends: copy FROM (a state file or postgres:// URL) into TO, a
    /// state with no entries, every row and id kept.
    #[command(subcommand)]
    State(StateCommand),
    /// Write the default configuration, commented, to adapt.
    Init {
        /// Where to write it
        #[arg(default_value = "kairan.toml")]
        path: PathBuf,
    },
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff).
    Man,
}

const LOCAL_CONFIG: &str = "kairan.toml";

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = Out::new(cli.quiet, cli.verbose, cli.log_format == LogFormat::Json);
    // A daemon's log says what it does; a command run by hand or from cron only what went wrong.
    let daemon = matches!(cli.command, Command::Serve { .. });
    out.init_tracing(daemon);
    let result = match cli.command {
        Command::Run {
            config,
            out: dir,
            wait,
        } => load_config(&config, dir).map(|c| cli::run::run(&c, wait, &out)),
        Command::Serve {
            config,
            listen,
            out: dir,
        } => load_config(&config, dir).map(|mut c| {
            if let Some(listen) = listen {
                c.serve.listen = listen;
            }
            match kairan::serve(c) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    out.error(&e.to_string(), &[]);
                    ExitCode::from(1)
                }
            }
        }),
        Command::Check {
            config,
            source,
            file,
            article,
            json,
        } => load_config(&config, None).map(|c| {
            let what = cli::check::What {
                only: source,
                page: file,
                articles: article,
                json,
            };
            cli::check::check(c, what, &out)
        }),
        Command::Explain { config, entry } => {
            load_config(&config, None).map(|c| cli::explain::explain(&c, &entry, &out))
        }
        Command::Topics { config } => {
            load_config(&config, None).map(|c| cli::status::topics(&c, &out))
        }
        Command::Status { config } => {
            load_config(&config, None).map(|c| cli::status::status(&c, &out))
        }
        Command::Suggest {
            url,
            file,
            page_url,
            json,
            config,
        } => {
            let args = ConfigArgs {
                config,
                state: None,
            };
            load_config(&args, None).map(|c| {
                let page = match (url, file, page_url) {
                    (Some(url), _, _) => cli::suggest::Page::Fetch(url),
                    (None, Some(file), Some(url)) => cli::suggest::Page::Saved(file, url),
                    _ => unreachable!("clap requires a URL or --file with --url"),
                };
                cli::suggest::suggest(&c, page, json, &out)
            })
        }
        Command::State(StateCommand::Copy { from, to }) => Ok(cli::state::copy(&from, &to, &out)),
        Command::Init { path } => Ok(cli::init(&path, &out)),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "kairan", &mut script);
            cli::print_stdout(&String::from_utf8_lossy(&script));
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => Ok(cli::man(Cli::command())),
    };
    result.unwrap_or_else(|e| {
        out.error(&e.to_string(), &[]);
        ExitCode::from(2)
    })
}

/// The configuration with the command line's overrides (`--state`, and `--out` where the
/// command has it), checked as a whole.
fn load_config(
    args: &ConfigArgs,
    out: Option<String>,
) -> Result<Config, kairan::config::ConfigError> {
    let mut config = match &args.config {
        Some(p) => Config::load(p)?,
        None if Path::new(LOCAL_CONFIG).exists() => Config::load(Path::new(LOCAL_CONFIG))?,
        None => Config::builtin(),
    };
    if let Some(state) = &args.state {
        config.state = kairan::store::Location::parse(state);
    }
    if let Some(out) = out {
        config.output = kairan::publish::target::Output::parse(&out).map_err(|message| {
            kairan::config::ConfigError::Invalid {
                path: "--out".to_owned(),
                at: None,
                key: "out".to_owned(),
                message,
            }
        })?;
    }
    config.check_places()?;
    Ok(config)
}
