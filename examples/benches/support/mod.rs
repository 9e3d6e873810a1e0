//! What the load benchmarks share: the cart form, filling a cart, and running wrk. The axum
//! benchmarks add `axum_servers.rs`.

use std::net::SocketAddr;
use std::process::Command;

use serde::Deserialize;
use sessions_examples::CART_SIZE;

/// How long wrk loads each server.
pub const SECONDS: u32 = 10;

#[derive(Deserialize)]
pub struct ItemForm {
    pub item: String,
}

/// Sends one `POST /cart` adding `item` with `cookie`; returns the cookie the response sets, if any.
pub async fn add_to_cart(address: SocketAddr, cookie: &str, item: &str) -> Option<String> {
    let line = set_cookie_line(address, cookie, item).await?;
    Some(line.split(';').next().unwrap().to_owned())
}

/// Sends one `POST /cart` adding `item` with `cookie`; returns the whole `Set-Cookie` line, if any.
pub async fn set_cookie_line(address: SocketAddr, cookie: &str, item: &str) -> Option<String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client
        .post(format!("http://{address}/cart"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", cookie)
        .body(format!("item={item}"))
        .send()
        .await
        .unwrap();
    let set = response.headers().get("set-cookie")?;
    Some(set.to_str().unwrap().to_owned())
}

/// Fills the cart with `CART_SIZE` items as a browser would; returns the `Cookie` header to replay.
pub async fn filled_cart(address: SocketAddr) -> String {
    let mut cookie = String::new();
    for _ in 0..CART_SIZE {
        if let Some(set) = add_to_cart(address, &cookie, "tea").await {
            cookie = set;
        }
    }
    cookie
}

/// Whether wrk is installed; says what to do when it is not.
pub fn have_wrk() -> bool {
    let found = Command::new("wrk").arg("--version").output().is_ok();
    if !found {
        eprintln!("wrk is not installed (apt-get install wrk); this load benchmark did not run");
    }
    found
}

/// Requests per second that wrk measured against `POST /cart` on `address`, replaying `cookies`:
/// one session that every request changes, or each request with the next of many sessions in turn,
/// as a site has.
pub fn wrk(address: SocketAddr, cookies: &[&str]) -> f64 {
    let script = match cookies {
        [cookie] => format!(
            "wrk.method = \"POST\"\nwrk.body = \"item=cake\"\n\
             wrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\"\n\
             wrk.headers[\"Cookie\"] = \"{cookie}\"\n"
        ),
        many => format!(
            "local cookies = {{{}}}\nlocal next = 0\n\
             request = function()\n  next = next % #cookies + 1\n  \
             return wrk.format(\"POST\", nil, {{[\"Content-Type\"] = \"application/x-www-form-urlencoded\", \
             [\"Cookie\"] = cookies[next]}}, \"item=cake\")\nend\n",
            many.iter()
                .map(|cookie| format!("\"{cookie}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    run_wrk(address, &script)
}

/// Runs wrk with the Lua `script` against `POST /cart` on `address`; its requests per second.
fn run_wrk(address: SocketAddr, script_text: &str) -> f64 {
    let script = std::env::temp_dir().join(format!("cart-load-{}.lua", address.port()));
    std::fs::write(&script, script_text).unwrap();
    let output = Command::new("wrk")
        .args(["-t1", "-c32", &format!("-d{SECONDS}s"), "-s"])
        .arg(&script)
        .arg(format!("http://{address}/cart"))
        .output()
        .expect("wrk runs");
    let _ = std::fs::remove_file(script);
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(!report.contains("Non-2xx or 3xx"), "errors under load:\n{report}");
    report
        .lines()
        .find_map(|line| line.strip_prefix("Requests/sec:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no rate in wrk's report:\n{report}"))
}
