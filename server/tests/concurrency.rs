//! Many clients at once, retries of the same ids, two server processes on one PostgreSQL, and
//! `kill -9` in the middle: afterwards every account's state is what the core computes from
//! its stored events, nothing was drawn twice or went negative, and nothing acknowledged is
//! missing.

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use ai_credits::time::{format_instant, parse_instant};
use ai_credits::{Account, Catalogue, Ledger};
use ai_credits_server::store::{self, Db, Location};
use support::{ServerProcess, Storage, Tokens};

/// Concurrent clients.
const CLIENTS: usize = 64;
/// Steps per client (a step is one event, or a hold and its commit).
const STEPS_PER_CLIENT: usize = 24;
/// Accounts the clients share (so they contend for the same rows).
const ACCOUNTS: usize = 4;

const MODELS: [&str; 4] = [
    "gpt-5.4-mini",
    "claude-haiku-4-5",
    "gpt-5",
    "claude-sonnet-4-6",
];

/// An accepted (or duplicate) answer: (account, event id, entry).
type Ack = (String, String, Value);

struct World {
    bases: Vec<String>,
    accounts: Vec<(String, Tokens)>,
    http: reqwest::Client,
}

async fn set_up(bases: Vec<String>) -> World {
    let http = support::client();
    let mut accounts = Vec::new();
    for _ in 0..ACCOUNTS {
        let id = support::create_account(&http, &bases[0], &json!({"plan": "growth"})).await;
        let tokens = Tokens::issue(&http, &bases[0], &id).await;
        let (status, body) = support::post_event(
            &http,
            &bases[0],
            &id,
            &tokens.admin,
            &json!({"kind": "purchase_pack", "id": "p0", "pack": "1M"}),
        )
        .await
        .expect("purchase");
        assert_eq!(status, 200, "{body}");
        accounts.push((id, tokens));
    }
    World {
        bases,
        accounts,
        http,
    }
}

/// The events of one step of client `c`: (kind's role token picker key, event).
fn step_events(c: usize, i: usize) -> Vec<Value> {
    let model = MODELS[(c + i) % MODELS.len()];
    let input = 200 + (c * 131 + i * 977) % 20_000;
    let output = 50 + (c * 71 + i * 313) % 4_000;
    let member = format!("m{}", c % 5);
    match i % 6 {
        0 => {
            let expires = format_instant(&(chrono::Utc::now() + chrono::Duration::minutes(30)));
            vec![
                json!({"kind": "hold", "id": format!("h{c}-{i}"), "credits": 30_000,
                       "expires_at": expires, "feature": "assistant", "member": member}),
                json!({"kind": "commit", "id": format!("c{c}-{i}"), "hold": format!("h{c}-{i}"),
                       "model": model, "input_tokens": input, "output_tokens": output}),
            ]
        }
        3 => vec![
            json!({"kind": "debit", "id": format!("d{c}-{i}"), "credits": 10_000 + input,
                         "feature": "text_generation", "member": member}),
        ],
        _ => vec![
            json!({"kind": "usage", "id": format!("u{c}-{i}"), "model": model,
                         "input_tokens": input, "output_tokens": output,
                         "feature": "assistant", "member": member}),
        ],
    }
}

/// Runs every client; stops a client at its first transport error (its server was killed).
/// Returns the acknowledged events and how many requests failed in transport.
async fn run_clients(world: Arc<World>, acks: Arc<Mutex<Vec<Ack>>>) -> (Vec<Ack>, usize) {
    let transport_errors = Arc::new(Mutex::new(0usize));
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (world, acks, transport_errors) = (
            Arc::clone(&world),
            Arc::clone(&acks),
            Arc::clone(&transport_errors),
        );
        clients.push(tokio::spawn(async move {
            let home = c % world.bases.len();
            let other = (c + 1) % world.bases.len();
            'steps: for i in 0..STEPS_PER_CLIENT {
                let (account, tokens) = &world.accounts[(c + i) % world.accounts.len()];
                for event in step_events(c, i) {
                    let token = tokens.for_kind(event["kind"].as_str());
                    let id = event["id"].as_str().unwrap_or_default().to_owned();
                    let post = |base: usize| {
                        support::post_event(&world.http, &world.bases[base], account, token, &event)
                    };
                    // Every fifth event goes to both servers at once (a client retrying
                    // before the first answer); every third is retried after its answer.
                    let answers = if i % 5 == 1 {
                        let (a, b) = tokio::join!(post(home), post(other));
                        vec![a, b]
                    } else if i % 3 == 2 {
                        let a = post(home).await;
                        let b = post(other).await;
                        vec![a, b]
                    } else {
                        vec![post(home).await]
                    };
                    let mut fresh = 0;
                    let mut entries = Vec::new();
                    for answer in answers {
                        match answer {
                            Err(_) => {
                                *transport_errors.lock().unwrap() += 1;
                                break 'steps;
                            }
                            Ok((200, body)) => {
                                if body["duplicate"] == json!(false) {
                                    fresh += 1;
                                }
                                entries.push(body["entry"].clone());
                                acks.lock().unwrap().push((
                                    account.clone(),
                                    id.clone(),
                                    body["entry"].clone(),
                                ));
                            }
                            Ok((status, body)) => {
                                assert!(
                                    (400..500).contains(&status) || status == 503,
                                    "{id}: {status} {body}"
                                );
                                assert!(body["code"].is_string(), "{id}: {status} {body}");
                            }
                        }
                    }
                    assert!(fresh <= 1, "{id} was accepted as new twice");
                    assert!(
                        entries.windows(2).all(|w| w[0] == w[1]),
                        "{id}: a retry answered another entry: {entries:?}"
                    );
                }
            }
        }));
    }
    for client in clients {
        client.await.expect("client task");
    }
    let acks = acks.lock().unwrap().clone();
    let errors = *transport_errors.lock().unwrap();
    (acks, errors)
}

/// Reads each account straight from the database and checks it against the core, the
/// server's answers and the acknowledgements.
async fn verify(storage: &Storage, world: &World, base: &str, acks: &[Ack]) {
    let location = match storage {
        Storage::Sqlite(path) => Location::SqliteFile(path.display().to_string()),
        Storage::Postgres(url) => Location::Postgres(url.clone()),
    };
    let db = Db::open(&location).await.expect("database opens");
    let catalogue = Arc::new(Catalogue::default());
    let mut conn = db.pool.acquire().await.expect("connection");
    let mut accepted_total = 0;
    for (account, tokens) in &world.accounts {
        let row = store::account_row(&mut conn, account, "")
            .await
            .expect("row")
            .expect("account exists");
        let bodies = store::event_bodies(&mut conn, account)
            .await
            .expect("events");
        assert_eq!(
            bodies.len() as i64,
            row.event_count,
            "{account}: event count"
        );
        accepted_total += bodies.len();
        // Ids are unique (the index says so too).
        let events: Vec<Value> = bodies
            .iter()
            .map(|b| serde_json::from_str(b).expect("stored JSON"))
            .collect();
        let ids: Vec<&str> = events.iter().filter_map(|e| e["id"].as_str()).collect();
        assert_eq!(
            ids.len(),
            ids.iter().collect::<HashSet<_>>().len(),
            "{account}: an id twice"
        );
        // The core, replaying the stored events, agrees with the server's state.
        let mut ledger = Ledger::new(
            Arc::clone(&catalogue),
            Account {
                plan: row.plan.clone(),
                cycle_anchor: parse_instant(&row.cycle_anchor).expect("anchor"),
            },
        )
        .expect("ledger");
        ledger.replay(&events).expect("stored events replay");
        let now = parse_instant(row.now_at.as_deref().expect("now")).expect("now");
        ledger.advance(now).expect("now");
        let at = format_instant(&(now + chrono::Duration::seconds(1)));
        let mine = serde_json::to_value(
            ledger
                .report(parse_instant(&at).unwrap(), vec![], vec![])
                .unwrap(),
        )
        .unwrap();
        let (status, mut served) =
            support::get_state(&world.http, base, account, &tokens.admin, Some(&at)).await;
        assert_eq!(status, 200, "{served}");
        for field in ["version", "cursor", "entries_before"] {
            served.as_object_mut().unwrap().remove(field);
        }
        assert_eq!(
            served, mine,
            "{account}: the server's state is not the core's replay"
        );
        // Nothing drawn twice, nothing negative: every entry's draws add up to what it paid,
        // packs and the allowance never give more than they hold.
        let mut from_pack: HashMap<String, u64> = HashMap::new();
        let mut from_monthly = 0u64;
        let entries = served["entries"].as_array().unwrap();
        for e in entries {
            let drawn: u64 = e["draws"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["credits"].as_u64().unwrap())
                .sum();
            assert_eq!(
                drawn,
                e["credits"].as_u64().unwrap() - e["unpaid"].as_u64().unwrap(),
                "{e}"
            );
            for d in e["draws"].as_array().unwrap() {
                let credits = d["credits"].as_u64().unwrap();
                match d["pack"].as_str() {
                    Some(p) => *from_pack.entry(p.to_owned()).or_default() += credits,
                    None => from_monthly += credits,
                }
            }
        }
        assert_eq!(from_monthly, served["monthly"]["used"].as_u64().unwrap());
        assert!(from_monthly <= served["monthly"]["allowance"].as_u64().unwrap());
        for pack in served["packs"].as_array().unwrap() {
            let used = from_pack
                .get(pack["id"].as_str().unwrap())
                .copied()
                .unwrap_or(0);
            assert_eq!(
                pack["credits"].as_u64().unwrap() - used,
                pack["remaining"].as_u64().unwrap(),
                "{pack}"
            );
        }
        // Every acknowledged event is stored, with the entry the client was given.
        let stored: HashMap<String, Value> = entries
            .iter()
            .map(|e| (e["id"].as_str().unwrap().to_owned(), e.clone()))
            .collect();
        for (_, id, entry) in acks.iter().filter(|(a, _, _)| a == account) {
            assert!(
                ids.contains(&id.as_str()),
                "{account}: acknowledged {id} is missing"
            );
            if !entry.is_null() {
                assert_eq!(
                    stored.get(id),
                    Some(entry),
                    "{account}: {id}'s entry changed"
                );
            }
        }
        // One charge per purchase.
        let purchases = events
            .iter()
            .filter(|e| e["kind"] == "purchase_pack")
            .count();
        assert_eq!(db.charges(account).await.expect("charges").len(), purchases);
    }
    assert!(
        accepted_total > CLIENTS,
        "only {accepted_total} events were accepted"
    );
    eprintln!(
        "verified: {accepted_total} stored events, {} acknowledgements",
        acks.len()
    );
}

async fn load_and_verify(storage: Storage, servers: usize) {
    let processes: Vec<ServerProcess> = (0..servers)
        .map(|_| ServerProcess::start(&storage, false))
        .collect();
    let world = Arc::new(set_up(processes.iter().map(|p| p.base.clone()).collect()).await);
    let (acks, transport_errors) = run_clients(Arc::clone(&world), Arc::default()).await;
    assert_eq!(transport_errors, 0);
    assert!(!acks.is_empty());
    verify(&storage, &world, &processes[0].base, &acks).await;
    for p in &processes {
        assert!(!p.log_text().contains("panicked"), "{}", p.log_text());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_clients_on_sqlite_agree_with_the_core() {
    // Proves 64 concurrent clients with retries on one SQLite server leave states equal to the core's replay, nothing drawn twice, every ack stored.
    load_and_verify(support::sqlite("load"), 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgres_agree_with_the_core() {
    // Proves the same with two server processes sharing one PostgreSQL, retries crossing between them.
    let Some(storage) = support::postgres("two_servers_on_one_postgres_agree_with_the_core") else {
        return;
    };
    load_and_verify(storage, 2).await;
}

async fn kill_mid_load(storage: Storage, servers: usize) {
    let mut processes: Vec<ServerProcess> = (0..servers)
        .map(|_| ServerProcess::start(&storage, false))
        .collect();
    let world = Arc::new(set_up(processes.iter().map(|p| p.base.clone()).collect()).await);
    let progress: Arc<Mutex<Vec<Ack>>> = Arc::default();
    let load = tokio::spawn(run_clients(Arc::clone(&world), Arc::clone(&progress)));
    // Kill once the load is well under way (a quarter of its events acknowledged), whatever
    // the machine's speed.
    let under_way = CLIENTS * STEPS_PER_CLIENT / 4;
    for _ in 0..3000 {
        if progress.lock().unwrap().len() >= under_way {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    processes[0].kill_9();
    let (acks, transport_errors) = load.await.expect("load");
    assert!(
        transport_errors > 0,
        "the kill came after the load finished; nothing was tested"
    );
    eprintln!(
        "killed mid-load: {transport_errors} clients cut off, {} acknowledgements",
        acks.len()
    );
    let restarted = ServerProcess::start(&storage, false);
    verify(&storage, &world, &restarted.base, &acks).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_on_sqlite_loses_no_acknowledged_event() {
    // Proves a server killed with SIGKILL mid-load restarts on its SQLite file with every acknowledged event and nothing half-written.
    kill_mid_load(support::sqlite("kill"), 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_one_of_two_postgres_servers_loses_nothing() {
    // Proves the same on PostgreSQL: one of two servers is killed mid-load, the other carries on, a restarted one sees everything.
    let Some(storage) = support::postgres("kill_9_of_one_of_two_postgres_servers_loses_nothing")
    else {
        return;
    };
    kill_mid_load(storage, 2).await;
}
