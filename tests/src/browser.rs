//! A real browser for the pages the harness writes and serves: Debian's Chromium, headless. A page
//! from a file opens in a network namespace of its own with no interface up, so a page that needs
//! anything from the network shows it missing; the live page opens over loopback. `.ci/run` installs
//! it.

use std::path::Path;
use std::process::Command;

/// Where the tests' screenshots are kept (they outlive the tests' run directories):
/// `adstream-screenshots` in the temporary directory.
pub fn screenshots() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join("adstream-screenshots");
    std::fs::create_dir_all(&dir).expect("create the screenshots directory");
    dir
}

/// Chromium's headless flags.
const HEADLESS: [&str; 4] = [
    "--headless",
    // As root, Chromium's own sandbox cannot start.
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
];

/// Chromium's headless command, with no network at all.
fn chromium() -> Command {
    let mut command = Command::new("unshare");
    command.args(["--net", "chromium"]).args(HEADLESS);
    command
}

/// Chromium's headless command on this host's network, for a page served on loopback; the page's
/// scripts run for `budget_ms` of virtual time (its requests complete meanwhile) before the
/// browser acts.
fn chromium_online(budget_ms: u32) -> Command {
    let mut command = Command::new("chromium");
    command
        .args(HEADLESS)
        .arg(format!("--virtual-time-budget={budget_ms}"));
    command
}

/// The DOM of the page at `url` once its scripts have run for `budget_ms` of virtual time.
pub fn dump_dom_of_url(url: &str, budget_ms: u32) -> String {
    let out = chromium_online(budget_ms)
        .arg("--dump-dom")
        .arg(url)
        .output()
        .expect("run chromium (apt-get install chromium)");
    assert!(out.status.success(), "chromium: {out:?}");
    String::from_utf8(out.stdout).expect("UTF-8 DOM")
}

/// A screenshot of the page at `url`, `width` × `height` pixels, into `png`.
pub fn screenshot_of_url(url: &str, png: &Path, width: u32, height: u32) {
    let out = chromium_online(2_000)
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("--window-size={width},{height}"))
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "chromium: {out:?}");
    assert!(png.exists(), "no screenshot at {}", png.display());
}

/// The page's DOM after it loaded, as Chromium serialises it.
pub fn dump_dom(page: &Path) -> String {
    let out = chromium()
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium (apt-get install chromium)");
    assert!(out.status.success(), "chromium: {out:?}");
    String::from_utf8(out.stdout).expect("UTF-8 DOM")
}

/// A screenshot of the page, `width` × `height` pixels, into `png`.
pub fn screenshot(page: &Path, png: &Path, width: u32, height: u32) {
    let out = chromium()
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("--window-size={width},{height}"))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "chromium: {out:?}");
    assert!(png.exists(), "no screenshot at {}", png.display());
}

/// The text of the element with `id` in `dom` (no nested elements), if there is one.
pub fn text_of(dom: &str, id: &str) -> Option<String> {
    let at = dom.find(&format!("id=\"{id}\""))?;
    let start = at + dom[at..].find('>')? + 1;
    let end = start + dom[start..].find('<')?;
    Some(dom[start..end].to_owned())
}
