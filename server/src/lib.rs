//! The authoritative ai-credits backend: stores accounts and their accepted events (SQLite by
//! default, PostgreSQL when `DATABASE_URL` says so), decides every event with the core inside
//! one transaction per batch that locks the account, and serves the HTTP API of `api`.
//!
//! The server only stores and serves: every number comes from the `ai-credits` core, so the
//! backend and the browser's WebAssembly build cannot disagree.
#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod demo;
pub mod engine;
pub mod error;
pub mod key_change;
pub mod keys;
pub mod payment;
pub mod providers;
pub mod secret;
pub mod store;
pub mod verify;

use std::net::SocketAddr;
use std::sync::Arc;

use ai_credits::Catalogue;

use crate::payment::PaymentProcessor;
use crate::store::{Db, Location};

/// How to run the server.
#[derive(Clone, Debug)]
pub struct Config {
    pub addr: SocketAddr,
    pub location: Location,
    /// Honour a client-supplied `at` (conformance replays, imports of past events).
    pub allow_client_time: bool,
    /// The platform operator's bearer token (`AI_CREDITS_ADMIN_TOKEN`); without it no
    /// account can be created.
    pub admin_token: Option<String>,
    /// A directory of static files served at `/` (`serve --www DIR`), so a web app and the API
    /// share one origin; `None` serves the API only.
    pub www: Option<std::path::PathBuf>,
    /// A file holding the data key that encrypts provider keys (`--data-key-file`), created
    /// when missing; `AI_CREDITS_DATA_KEY` wins over it. Without either, an SQLite database
    /// keeps `ai-credits.key` beside it and PostgreSQL switches provider keys off.
    pub data_key_file: Option<std::path::PathBuf>,
    /// A catalogue document to use instead of the built-in one (`serve --catalogue PATH`):
    /// read and validated by the core at start-up, served at `/v1/catalogue`. A document the
    /// core refuses stops start-up with the core's error code.
    pub catalogue: Option<std::path::PathBuf>,
    /// Demo mode (`serve --demo`, see `demo`): seeds the account `acc_demo` when it is
    /// missing, serves `POST /v1/demo/session` (an admin token for anyone who asks), the
    /// stand-in assistant and the stand-in providers, and points the provider adapters whose
    /// `AI_CREDITS_PROVIDER_BASE_*` is not set at those stand-ins.
    pub demo: bool,
    /// Most accepted events an account's stored checkpoint may lag behind its log
    /// (`--checkpoint-every`, default [`engine::CHECKPOINT_EVERY_DEFAULT`]): loading a cold
    /// account reads its checkpoint and at most this many events.
    pub checkpoint_every: i64,
    /// The ledger cache's bound in bytes (`--cache-mb`, default
    /// [`engine::CACHE_BYTES_DEFAULT`]).
    pub cache_bytes: usize,
}

/// Reads and validates a catalogue document; the error names the file and the core's code.
fn load_catalogue(path: &std::path::Path) -> Result<Catalogue, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--catalogue {}: cannot read it: {e}", path.display()))?;
    let catalogue = Catalogue::from_json(&text)
        .map_err(|e| format!("--catalogue {}: {e} ({})", path.display(), e.code()))?;
    tracing::info!(
        catalogue = %path.display(),
        version = catalogue.version,
        source = %catalogue.source,
        "catalogue loaded"
    );
    Ok(catalogue)
}

/// A server bound to its address, not yet serving.
pub struct Server {
    listener: tokio::net::TcpListener,
    app: axum::Router,
}

impl Server {
    /// Opens the database (running migrations), starts the writers and binds the address.
    pub async fn bind(
        config: &Config,
        processor: Arc<dyn PaymentProcessor>,
    ) -> Result<Server, Box<dyn std::error::Error + Send + Sync>> {
        if let Some(dir) = &config.www
            && !dir.is_dir()
        {
            return Err(format!("--www {}: not a directory", dir.display()).into());
        }
        // Before the database: a bad catalogue should not leave a fresh database behind.
        let catalogue = match &config.catalogue {
            Some(path) => load_catalogue(path)?,
            None => Catalogue::default(),
        };
        let sqlite_db = match &config.location {
            Location::SqliteFile(path) => Some(std::path::Path::new(path)),
            Location::Postgres(_) => None,
        };
        let data_key = secret::DataKeySource::choose(
            std::env::var("AI_CREDITS_DATA_KEY").ok(),
            config.data_key_file.as_deref(),
            sqlite_db,
        )
        .load()?;
        if data_key.is_none() {
            tracing::warn!(
                "no data key (AI_CREDITS_DATA_KEY or --data-key-file): provider keys cannot be saved"
            );
        }
        let db = Db::open(&config.location).await?;
        tracing::info!(storage = %config.location.describe(), "database ready");
        let ctx = Arc::new(engine::Ctx {
            db,
            cache: engine::LedgerCache::new(config.cache_bytes),
            catalogue: Arc::new(catalogue),
            processor,
            allow_client_time: config.allow_client_time,
            checkpoint_every: config.checkpoint_every.max(1),
        });
        let built = engine::backfill_checkpoints(&ctx).await?;
        if built > 0 {
            tracing::info!(
                accounts = built,
                "checkpoints built for accounts that had none"
            );
        }
        let engine = engine::Engine::start(Arc::clone(&ctx));
        if config.demo {
            match demo::ensure_seeded(&ctx, &engine).await? {
                Some(summary) => tracing::info!(
                    account = demo::ACCOUNT_ID,
                    "demo account seeded: {}",
                    demo::describe(&summary)
                ),
                None => tracing::info!(
                    account = demo::ACCOUNT_ID,
                    "demo account exists: kept as it is"
                ),
            }
        }
        let auth = auth::Authenticator::new(config.admin_token.as_deref());
        if !auth.admin_enabled() {
            tracing::warn!(
                "AI_CREDITS_ADMIN_TOKEN is not set: accounts and tokens cannot be created"
            );
        }
        let listener = tokio::net::TcpListener::bind(config.addr).await?;
        // The stand-in providers live at this server's own address, known only once bound.
        let providers = if config.demo {
            let stand_in = demo::stand_in_base(listener.local_addr()?);
            tracing::info!(
                stand_in,
                "demo: provider keys are tested against the stand-in providers unless \
                 AI_CREDITS_PROVIDER_BASE_* says otherwise (keys starting with demo- are accepted)"
            );
            providers::Providers::from_env_or(Some(&stand_in))
        } else {
            providers::Providers::from_env()
        };
        let keys = keys::KeyService::new(data_key, providers);
        let mut state = api::AppState::new(ctx, engine, auth, keys);
        if config.demo {
            tracing::warn!(
                addr = %listener.local_addr()?,
                "demo mode: POST /v1/demo/session hands an admin token of {} to anyone who can \
                 reach this address; never expose it to a network you do not trust",
                demo::ACCOUNT_ID
            );
            state = state.with_demo(demo::DemoSettings::from_env());
        }
        let state = Arc::new(state);
        Ok(Server {
            listener,
            app: api::router(state, config.www.as_deref()),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then finishes the requests in flight.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(self.listener, self.app)
            .with_graceful_shutdown(shutdown)
            .await
    }
}
