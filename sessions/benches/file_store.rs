//! Load+save of the typical session through the file store, with the page cache warm: with an empty
//! directory and with 100,000 other sessions on disk, durable (each write synced) and not, beside the
//! cookie store doing the same work.
//!
//! Run: `cargo bench -p sessions --features fs --bench file_store`

use std::hint::black_box;
use std::path::PathBuf;

mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use http::HeaderMap;
use sessions::store::ServerStore;
use sessions::store::backend::FileBackend;
use sessions::{CookieStore, Key, Keys, Store};
use support::{Typical, signed_in};

fn bench_store<St: Store>(c: &mut Criterion, name: &str, runtime: &tokio::runtime::Runtime, store: &St) {
    let request = runtime.block_on(signed_in(store));
    c.bench_function(name, |b| {
        b.iter(|| {
            runtime.block_on(async {
                let mut session = store.load::<Typical>(black_box(&request)).await.unwrap();
                session.admin = !session.admin;
                let mut response = HeaderMap::new();
                store.save(&mut session, &mut response).await.unwrap();
                black_box(response)
            })
        })
    });
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sessions-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn file_store(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let keys = Keys::new(Key::generate());

    bench_store(
        c,
        "load+save/cookie store",
        &runtime,
        &CookieStore::new(keys.clone()),
    );

    let empty = fresh_dir("empty");
    let crowded = fresh_dir("crowded");
    let filler = ServerStore::with_backend(FileBackend::open(&crowded).unwrap().durable(false), keys.clone());
    runtime.block_on(async {
        for n in 0..100_000u64 {
            let mut session = filler.load::<Typical>(&HeaderMap::new()).await.unwrap();
            session.user_id = n + 1;
            filler.save(&mut session, &mut HeaderMap::new()).await.unwrap();
        }
    });
    for durable in [false, true] {
        for (dir, others) in [
            (&empty, "empty directory"),
            (&crowded, "100,000 sessions on disk"),
        ] {
            let backend = FileBackend::open(dir).unwrap().durable(durable);
            let store = ServerStore::with_backend(backend, keys.clone());
            let sync = if durable { "durable" } else { "not synced" };
            bench_store(
                c,
                &format!("load+save/file store, {sync}, {others}"),
                &runtime,
                &store,
            );
        }
    }
    let _ = std::fs::remove_dir_all(empty);
    let _ = std::fs::remove_dir_all(crowded);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = file_store
}
criterion_main!(benches);
