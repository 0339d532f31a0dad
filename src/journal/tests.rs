//! The journal store on a real SQLite file: batches round-trip, legs come
//! and go, compaction keeps the state and drops older rows, pages follow
//! `seq`, and the writer task drains its queue.

use super::*;
use crate::cdr::tests::TempDir;
use crate::cti::journal::{AgentRecord, OpenContact, StatusRecord};
use crate::registrar::BindingStore;
use std::collections::BTreeMap;
use std::net::SocketAddr;

async fn open(dir: &TempDir) -> (BindingStore, JournalStore) {
    let b = BindingStore::open(&dir.0.join("softacd.db"))
        .await
        .expect("open db");
    let j = JournalStore::new(b.pool().clone()).await.expect("schema");
    (b, j)
}

fn agent(id: &str, status: StatusRecord) -> Entry {
    Entry::Agent(AgentRecord {
        agent: id.into(),
        device: format!("sip:{id}@127.0.0.1:5070"),
        skills: BTreeMap::from([("support".to_owned(), 5)]),
        status,
        state: "idle".into(),
        contact: None,
        auto: false,
    })
}

fn arrived(contact: u64) -> Entry {
    Entry::ContactArrived {
        contact,
        caller: "sip:caller@127.0.0.1".into(),
        dnis: "100".into(),
        media: "audio".into(),
        trunk: None,
    }
}

fn leg(contact: u64, leg: &str) -> LegRecord {
    LegRecord {
        contact,
        leg: leg.into(),
        call_id: format!("{contact}-{leg}@127.0.0.1"),
        local_uri: "<sip:caller@127.0.0.1>;tag=a".into(),
        remote_uri: "<sip:1001@127.0.0.1>;tag=b".into(),
        remote_target: "sip:1001@127.0.0.1:5070".into(),
        route_set: Vec::new(),
        local_cseq: 1,
        transport: "UDP".into(),
        peer: SocketAddr::from(([127, 0, 0, 1], 5070)),
    }
}

fn append(at_ms: u64, entry: Entry) -> JournalOp {
    JournalOp::Append { at_ms, entry }
}

#[tokio::test]
async fn batches_and_legs_survive_reopening_the_file() {
    let dir = TempDir::new("journal-rt");
    {
        let (b, j) = open(&dir).await;
        let ops = vec![
            append(1, agent("1001", StatusRecord::Available)),
            append(
                2,
                agent(
                    "1002",
                    StatusRecord::NotReady {
                        reason: "lunch".into(),
                    },
                ),
            ),
            append(3, arrived(7)),
            append(4, arrived(8)),
            JournalOp::LegUp(leg(7, "caller")),
            JournalOp::LegUp(leg(7, "agent")),
            JournalOp::LegUp(leg(8, "caller")),
        ];
        j.write(&ops).await.expect("write");
        let done = vec![
            append(
                5,
                Entry::ContactCleared {
                    contact: 8,
                    cause: "normal_clearing".into(),
                },
            ),
            JournalOp::LegsDown { contact: 8 },
        ];
        j.write(&done).await.expect("write");
        b.close().await;
    }
    let (_b, j) = open(&dir).await;
    let loaded = j.load().await.expect("load");
    assert_eq!(loaded.skipped, 0);
    assert_eq!(loaded.since_snapshot, 5);
    let agents: Vec<&str> = loaded.replay.agents().map(|a| a.agent.as_str()).collect();
    assert_eq!(agents, vec!["1001", "1002"]);
    let open: Vec<u64> = loaded.replay.open_contacts().map(|c| c.contact).collect();
    assert_eq!(open, vec![7]);
    let legs: Vec<(u64, &str)> = loaded
        .legs
        .iter()
        .map(|l| (l.contact, l.leg.as_str()))
        .collect();
    assert_eq!(legs, vec![(7, "agent"), (7, "caller")]);
}

#[tokio::test]
async fn compaction_keeps_the_state_and_drops_older_rows() {
    let dir = TempDir::new("journal-compact");
    let (_b, j) = open(&dir).await;
    let ops: Vec<JournalOp> = (1..=50).map(|i| append(i, arrived(i))).collect();
    j.write(&ops).await.expect("write");
    let clear: Vec<JournalOp> = (1..=49)
        .map(|i| {
            append(
                100 + i,
                Entry::ContactCleared {
                    contact: i,
                    cause: "normal_clearing".into(),
                },
            )
        })
        .collect();
    j.write(&clear).await.expect("write");
    let before = j.load().await.expect("load").replay;
    assert_eq!(j.count().await.expect("count"), 99);
    j.compact(200, &before.snapshot()).await.expect("compact");
    assert_eq!(j.count().await.expect("count"), 1);
    let after = j.load().await.expect("load");
    assert_eq!(after.replay, before);
    assert_eq!(after.since_snapshot, 0);
    let page = j.page(0, 10).await.expect("page");
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].kind, "snapshot");
    assert_eq!(page[0].seq, 100, "seq keeps counting after deletes");
}

#[tokio::test]
async fn pages_follow_seq_and_respect_the_limit() {
    let dir = TempDir::new("journal-page");
    let (_b, j) = open(&dir).await;
    let ops: Vec<JournalOp> = (1..=5).map(|i| append(i * 10, arrived(i))).collect();
    j.write(&ops).await.expect("write");
    let first = j.page(0, 2).await.expect("page");
    assert_eq!(first.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(first[0].kind, "contact_arrived");
    assert_eq!(first[0].at_ms, 10);
    assert_eq!(first[0].entry["contact"], 1);
    let rest = j.page(2, 100).await.expect("page");
    assert_eq!(
        rest.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![3, 4, 5]
    );
    assert!(j.page(5, 100).await.expect("page").is_empty());
}

#[tokio::test]
async fn the_writer_drains_its_queue_in_order() {
    let dir = TempDir::new("journal-writer");
    let (_b, j) = open(&dir).await;
    let (tx, rx) = tokio::sync::mpsc::channel(writer::JOURNAL_QUEUE);
    let task = tokio::spawn(writer::run(j.clone(), rx, Replay::default(), 0));
    for i in 1..=600 {
        tx.send(append(i, arrived(i))).await.expect("queued");
    }
    tx.send(JournalOp::LegUp(leg(600, "caller")))
        .await
        .expect("queued");
    drop(tx);
    task.await.expect("writer ends");
    let loaded = j.load().await.expect("load");
    assert_eq!(loaded.replay.open_contacts().count(), 600);
    assert_eq!(loaded.replay.max_contact(), 600);
    assert_eq!(loaded.legs.len(), 1);
}

#[test]
fn an_interrupted_contact_becomes_a_closed_cdr() {
    let c = OpenContact {
        contact: 4,
        arrived_ms: 1_000,
        caller: "sip:caller@127.0.0.1".into(),
        dnis: "100".into(),
        media: "audio".into(),
        queue: Some("support".into()),
        queued_ms: Some(2_000),
        agent: Some("1001".into()),
        answered_ms: Some(3_000),
        trunk: Some("carrier".into()),
    };
    let cdr = interrupted_cdr(&c, 9_000);
    assert_eq!(cdr.trunk.as_deref(), Some("carrier"));
    assert_eq!(cdr.contact_id, 4);
    assert_eq!(cdr.end_cause, SERVER_RESTART);
    assert_eq!(cdr.end_ms, 9_000);
    assert_eq!(cdr.agent.as_deref(), Some("1001"));
    assert_eq!(cdr.agent_answer_ms, Some(3_000));
    assert_eq!(cdr.queue.as_deref(), Some("support"));
}
