//! The command line: `serve` (the default), `sandbox`, `migrate`, `rotate-key`, `seed`.

use std::net::TcpListener;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use mca_portal::config::Settings;
use mca_portal::sandbox;
use mca_portal::startup::Application;
use mca_portal::store::Store;

#[derive(Parser)]
#[command(
    name = "mca-portal",
    version,
    about = "Partner Center screens for the Microsoft Customer Agreement, in front of the Partner Center API"
)]
struct Cli {
    /// Settings file (default: mca-portal.toml in the working directory, when present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the portal (the default). Without an identity provider configured, the
    /// built-in sandbox of Partner Center and Entra ID runs alongside.
    Serve,
    /// Run only the sandbox (identity provider and Partner Center), for another portal.
    Sandbox {
        /// Address to listen on.
        #[arg(long, value_name = "ADDR")]
        bind: Option<String>,
    },
    /// Create or upgrade the database, then exit.
    Migrate,
    /// Seal every stored session and queued submission's tokens again with `data_key`,
    /// reading what `data_key_previous` (or an older format) sealed; then exit.
    RotateKey,
    /// Fill the database with the sandbox's customers and N generated ones, as a read
    /// from Partner Center would store them, for demos and benchmarks of a large portfolio.
    Seed {
        /// How many generated customers (the built-in sandbox serves them with
        /// sandbox_extra_customers set to the same number).
        #[arg(long, value_name = "N")]
        customers: usize,
    },
}

fn load(config: Option<&std::path::Path>) -> anyhow::Result<Settings> {
    let loaded = Settings::load(config)?;
    if let Some(f) = &loaded.file {
        println!("Settings file: {}", f.display());
    }
    for key in &loaded.unknown_keys {
        eprintln!(
            "warning: unknown setting {key:?} is ignored (check its spelling; see the README's configuration table)"
        );
    }
    Ok(loaded.settings)
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    mca_portal::telemetry::init();
    let cli = Cli::parse();
    let settings = load(cli.config.as_deref())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let sandbox = settings.uses_sandbox();
            let database = settings.database_description();
            let app = Application::build(settings).await?;
            println!("Open {} in your browser.", app.public_url);
            println!("Database: {database}");
            match &app.sandbox {
                Some(s) if sandbox => println!(
                    "Upstream: built-in sandbox at {} (demo sign-in, no account needed; not Microsoft)",
                    s.base_url
                ),
                _ => println!(
                    "Upstream: Partner Center at {} with sign-in from {}",
                    app.settings.partner_center_url.as_deref().unwrap_or("-"),
                    app.settings.oidc_issuer.as_deref().unwrap_or("-")
                ),
            }
            match app.email_description() {
                Some(d) => println!("Email: invitations can be sent through {d}"),
                None => println!("Email: not configured (invitations are copied or opened in the mail program)"),
            }
            app.run_until_stopped().await?;
        }
        Command::Sandbox { bind } => {
            let bind = bind.unwrap_or_else(|| settings.sandbox_bind.clone());
            let listener = TcpListener::bind(&bind).with_context(|| format!("could not listen on {bind}"))?;
            let options = mca_portal::startup::sandbox_options(&settings);
            let s = sandbox::start(listener, options)?;
            println!("Sandbox running at {}", s.base_url);
            println!("Issuer (oidc_issuer): {}", s.issuer());
            println!("Partner Center (partner_center_url): {}", s.partner_center_url());
            println!("Client id: {}  client secret: {}", settings.oidc_client_id, sandbox::CLIENT_SECRET);
            println!("Press Ctrl+C to stop.");
            tokio::signal::ctrl_c().await?;
            s.stop().await;
        }
        Command::Migrate => {
            println!("Database: {}", settings.database_description());
            let store =
                Store::connect(&settings.database_url).await.context("could not open or migrate the database")?;
            store.close().await;
            println!("Migrations applied.");
        }
        Command::RotateKey => rotate_key(&settings).await?,
        Command::Seed { customers } => seed(&settings, customers).await?,
    }
    Ok(())
}

async fn seed(settings: &Settings, customers: usize) -> anyhow::Result<()> {
    if let Some(refusal) = mca_portal::seed::refusal(customers) {
        anyhow::bail!(refusal);
    }
    println!("Database: {}", settings.database_description());
    let store = mca_portal::startup::open_store(settings).await?;
    let done = mca_portal::seed::seed_portfolio(&store, customers, &settings.policy())
        .await
        .context("could not write the customers")?;
    store.close().await;
    println!(
        "Wrote {} customers ({} generated and the sandbox's demo customers) in {:.1} s.",
        done.written,
        done.generated,
        done.elapsed.as_secs_f64()
    );
    println!(
        "Serve the same customers from the built-in sandbox with MCA_SANDBOX_EXTRA_CUSTOMERS={customers} \
         (or sandbox_extra_customers = {customers} in the settings file)."
    );
    Ok(())
}

async fn rotate_key(settings: &Settings) -> anyhow::Result<()> {
    println!("Database: {}", settings.database_description());
    let store = mca_portal::startup::open_store(settings).await?;
    let done = store.reseal_all().await.context("could not re-seal the stored data")?;
    store.close().await;
    println!(
        "Re-sealed {} rows with the current data key ({} sessions, {} submissions' tokens, {} sign-ins kept for refreshes).",
        done.rows(),
        done.sessions,
        done.submissions,
        done.refresh_sign_ins
    );
    if done.unreadable == 0 {
        println!("Every row could be opened; data_key_previous is no longer needed.");
    } else {
        println!(
            "{} rows could not be opened with data_key or data_key_previous and were left as they are: \
             set data_key_previous to the key they were sealed with and run rotate-key again, \
             or leave them (those sessions count as signed out, those submissions wait for their user to sign in).",
            done.unreadable
        );
    }
    Ok(())
}
