//! A real S3-compatible server for the tests: `s3s-fs` (crates.io), one process per test on a
//! loopback port, keeping each object as a plain file under its root, so a test reads what was
//! uploaded from disk and asks for its headers over S3. `.ci/run` installs it; elsewhere a
//! test without it is skipped with a note. Stopped when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BUCKET: &str = "feeds";
const KEY: &str = "kairan-test";
const SECRET: &str = "kairan-test-secret";

pub struct S3 {
    root: tempfile::TempDir,
    child: Child,
    pub port: u16,
}

fn binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("KAIRAN_TEST_S3S_FS") {
        return Some(path.into());
    }
    let found = Command::new("s3s-fs")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    found.then(|| PathBuf::from("s3s-fs"))
}

impl S3 {
    /// A server with an empty bucket [`BUCKET`], or `None` with a note where s3s-fs is not
    /// installed; under CI its absence fails the test.
    pub fn start() -> Option<S3> {
        let Some(bin) = binary() else {
            super::unavailable("s3s-fs (cargo install s3s-fs --features binary)", "test");
            return None;
        };
        let root = tempfile::Builder::new()
            .prefix("kairan-s3-")
            .tempdir()
            .unwrap();
        std::fs::create_dir(root.path().join(BUCKET)).unwrap();
        let port = super::pg::free_port();
        let child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", KEY, "--secret-key", SECRET])
            .arg(root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start s3s-fs");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "s3s-fs did not listen within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(S3 { root, child, port })
    }

    /// The standard AWS environment that points a client at this server through `port` (its
    /// own, or a proxy's in front of it).
    pub fn env(&self, port: u16) -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", KEY.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET.to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// The object `key` of the bucket as stored, if it is there.
    pub fn object(&self, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.root.path().join(BUCKET).join(key)).ok()
    }

    /// Every object under `prefix`, by its key below it, with its bytes.
    pub fn objects(&self, prefix: &str) -> std::collections::BTreeMap<String, Vec<u8>> {
        let dir = self.root.path().join(BUCKET).join(prefix);
        if !dir.exists() {
            return Default::default();
        }
        super::files_under(&dir)
    }

    /// The headers S3 answers a GET of `key` with: Content-Type, Cache-Control and the
    /// `sha256` metadata, asked over the protocol through object_store.
    pub fn headers(&self, key: &str) -> (String, String, String) {
        use object_store::{Attribute, ObjectStoreExt};
        kairan::fetch::tls();
        let client = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(BUCKET)
            .with_endpoint(format!("http://127.0.0.1:{}", self.port))
            .with_allow_http(true)
            .with_access_key_id(KEY)
            .with_secret_access_key(SECRET)
            .with_region("us-east-1")
            .build()
            .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let got = runtime
            .block_on(client.get(&object_store::path::Path::from(key)))
            .unwrap_or_else(|e| panic!("GET {key}: {e}"));
        let a = &got.attributes;
        let text = |k: &Attribute| a.get(k).map(|v| v.to_string()).unwrap_or_default();
        (
            text(&Attribute::ContentType),
            text(&Attribute::CacheControl),
            text(&Attribute::Metadata("sha256".into())),
        )
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
