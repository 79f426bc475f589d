//! The authoritative ai-credits backend: stores accounts and their accepted events (SQLite by
//! default, PostgreSQL when `DATABASE_URL` says so), decides every event with the core inside
//! one transaction per batch that locks the account, and serves the HTTP API of `api`.
//!
//! The server only stores and serves: every number comes from the `ai-credits` core, so the
//! backend and the browser's WebAssembly build cannot disagree.
#![forbid(unsafe_code)]

pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod engine;
pub mod error;
pub mod gateway;
pub mod http;
pub mod store;
pub mod vault;
pub mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;

use ai_credits::Catalogue;

use crate::engine::payment::PaymentProcessor;
use crate::store::{Db, Location};

pub use crate::config::Config;

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
    limits: http::serve::EdgeLimits,
}

impl Server {
    /// Opens the database (running migrations), starts the writers and binds the address.
    pub async fn bind(
        config: &Config,
        processor: Arc<dyn PaymentProcessor>,
    ) -> Result<Server, Box<dyn std::error::Error + Send + Sync>> {
        #[cfg(not(feature = "demo"))]
        if config.demo {
            return Err(
                "this build has no demo mode: build it with `--features demo` \
                        (scripts/demo.sh does)"
                    .into(),
            );
        }
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
        let data_key = vault::secret::DataKeySource::choose(
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
        // The data key must be the one the stored provider keys were sealed with.
        if let Some(key) = &data_key {
            vault::data_key::check(&db, key).await?;
        }
        let ctx = Arc::new(engine::Ctx {
            db,
            cache: engine::LedgerCache::new(config.cache_bytes()),
            catalogue: Arc::new(catalogue),
            processor,
            allow_client_time: config.allow_client_time,
            checkpoint_every: config.checkpoint_every.max(1),
            clock: Arc::new(engine::clock::ClockWatch::new(
                std::time::Duration::from_millis(config.clock_skew_max_ms),
            )),
        });
        // At start, then periodically (SPEC §5.2).
        ctx.clock.measure(&ctx.db).await;
        ctx.clock.start(
            ctx.db.clone(),
            std::time::Duration::from_secs(config.clock_check_every_s.max(1)),
        );
        let built = engine::backfill_checkpoints(&ctx).await?;
        if built > 0 {
            tracing::info!(
                accounts = built,
                "checkpoints built for accounts that had none"
            );
        }
        let engine = engine::Engine::start(Arc::clone(&ctx)).with_payment_timeout(
            std::time::Duration::from_secs(config.payment_timeout_s.max(1)),
        );
        #[cfg(feature = "demo")]
        let demo_token = if config.demo {
            Some(demo::seed_at_start(&ctx, &engine).await?)
        } else {
            None
        };
        let auth = Arc::new(http::auth::Authenticator::new(&[
            config.admin_token.as_deref(),
            config.admin_token_next.as_deref(),
        ]));
        auth.start(
            ctx.db.clone(),
            std::time::Duration::from_secs(config.last_used_flush_s.max(1)),
        );
        if !auth.admin_enabled() {
            tracing::warn!(
                "AI_CREDITS_ADMIN_TOKEN is not set: accounts and tokens cannot be created"
            );
        }
        let listener = tokio::net::TcpListener::bind(config.addr).await?;
        // The stand-in providers live at this server's own address, known only once bound.
        #[cfg(feature = "demo")]
        let providers = if config.demo {
            demo::stand_in_providers(listener.local_addr()?)
        } else {
            vault::providers::Providers::from_env()
        };
        #[cfg(not(feature = "demo"))]
        let providers = vault::providers::Providers::from_env();
        webhooks::start(
            Arc::clone(&ctx),
            data_key.clone(),
            webhooks::Settings {
                scan_every: std::time::Duration::from_millis(config.webhook_scan_ms.max(50)),
                retry_base_ms: i64::try_from(config.webhook_retry_base_ms.max(1))
                    .unwrap_or(i64::MAX),
                allow_private: config.webhooks_allow_private,
            },
        );
        let keys = http::keys::KeyService::new(data_key, providers);
        let limits = http::limits::Limits::new(
            config.rate_per_token,
            config.burst_per_token,
            config.rate_per_account,
            config.burst_per_account,
        );
        limits.start_forgetting();
        if !config.cors_origins.is_empty() {
            tracing::info!(origins = ?config.cors_origins, "pages of these origins may call the API (CORS)");
        }
        let policy = http::Policy {
            hold_max: (config.hold_max_duration_s > 0).then(|| {
                chrono::Duration::seconds(
                    i64::try_from(config.hold_max_duration_s).unwrap_or(i64::MAX / 1000),
                )
            }),
            clock_skew_max: chrono::Duration::milliseconds(
                i64::try_from(config.clock_skew_max_ms).unwrap_or(i64::MAX / 1000),
            ),
            body_timeout: std::time::Duration::from_secs(config.body_timeout_s.max(1)),
            gateway_body_bytes_max: config.gateway_body_max_kb.saturating_mul(1024).max(1024),
            cors_origins: config.cors_origins.clone(),
            webhooks_allow_private: config.webhooks_allow_private,
        };
        let providers: Vec<&str> = ctx
            .catalogue
            .providers
            .iter()
            .map(|p| p.id.as_str())
            .collect();
        #[allow(unused_mut)]
        let mut gateway = gateway::Gateway::from_env(
            &providers,
            std::time::Duration::from_secs(config.gateway_first_byte_timeout_s.max(1)),
            std::time::Duration::from_secs(config.gateway_chunk_timeout_s.max(1)),
            config.gateway_calls_max,
        );
        #[cfg(feature = "demo")]
        if config.demo {
            demo::platform_keys(
                &mut gateway,
                &keys.providers,
                &ctx.catalogue,
                listener.local_addr()?,
            );
        }
        let gateway = Arc::new(gateway);
        tracing::info!(platform_keys = ?gateway.platform_providers(), "gateway ready");
        let state = http::AppState::new(ctx, engine, auth, keys, limits, policy, gateway);
        #[cfg(feature = "demo")]
        let state = match demo_token {
            Some(token) => demo::switch_on(state, listener.local_addr()?, token),
            None => state,
        };
        let state = Arc::new(state);
        Ok(Server {
            listener,
            app: http::router(state, config.www.as_deref()),
            limits: http::serve::EdgeLimits {
                header_timeout: std::time::Duration::from_secs(config.header_timeout_s.max(1)),
                idle_timeout: std::time::Duration::from_secs(config.idle_timeout_s.max(1)),
                connections_max: config.connections_max.max(1),
            },
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
        http::serve::serve(self.listener, self.app, self.limits, shutdown).await
    }
}
