//! Migrations are safe when several servers start at once: two servers started at the same
//! moment on a new database, ten times over, both come up and agree on the schema, on SQLite
//! and on PostgreSQL.

mod support;

use std::thread;

use sqlx::Connection;

use support::{ServerProcess, Storage};

/// Starts two servers on `storage` at the same moment; both must come up and serve.
fn start_two_at_once(storage: &Storage) {
    let (a, b) = (storage.clone(), storage.clone());
    let first = thread::spawn(move || ServerProcess::start(&a, false));
    let second = thread::spawn(move || ServerProcess::start(&b, false));
    let (first, second) = (first.join(), second.join());
    assert!(
        first.is_ok() && second.is_ok(),
        "a server died starting beside another"
    );
}

#[test]
fn two_servers_starting_together_on_a_new_sqlite_file_both_come_up() {
    // Proves ten times over that two servers started together on a fresh SQLite file both migrate and serve (no "table accounts already exists").
    for i in 0..10 {
        start_two_at_once(&support::sqlite(&format!("migrate-{i}")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_starting_together_on_a_new_postgres_database_both_come_up() {
    // Proves the same on ten fresh PostgreSQL databases.
    let Some(Storage::Postgres(url)) = support::postgres("migrations_on_postgres") else {
        return;
    };
    let mut admin = sqlx::PgConnection::connect(&url).await.expect("PostgreSQL");
    let (base, _) = url.rsplit_once('/').expect("a database name in the URL");
    for i in 0..10 {
        let name = format!("ai_credits_migrate_{}_{i}", std::process::id());
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        let storage = Storage::Postgres(format!("{base}/{name}"));
        tokio::task::spawn_blocking(move || start_two_at_once(&storage))
            .await
            .unwrap();
        sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await
            .unwrap();
    }
}
