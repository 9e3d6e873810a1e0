use sessions::Session;

#[derive(Session)]
union AppSession {
    id: u64,
    flags: u32,
}

fn main() {}
