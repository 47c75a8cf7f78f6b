//! An in-process loopback HTTP/1.1 server for the benchmarks: keep-alive, one canned answer per
//! path, rendered to bytes once at start, so the server does as little as possible per request
//! and the clients' costs show.
//!
//! It runs either as tasks of the bench's own current-thread runtime ([`start_on`], for the
//! facade-vs-floor pairs) or on its own thread ([`start`], for multi-thread clients). It counts
//! requests, and can record them (head and body) so a bench can check that the facade and its
//! floor send the same bytes.
#![allow(dead_code)]

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::Criterion;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A canned response: status, headers and body.
#[derive(Clone, Debug)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Canned {
    /// A 200 with a JSON body (serialized once, compactly).
    pub fn json(body: &serde_json::Value) -> Self {
        Self {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Status line, headers and body, as sent.
    fn render(&self) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {} {}\r\ncontent-length: {}\r\n",
            self.status,
            if self.status == 200 { "OK" } else { "X" },
            self.body.len()
        );
        for (n, v) in &self.headers {
            out.push_str(&format!("{n}: {v}\r\n"));
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// A request the server received while recording.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// Request line and headers, as received.
    pub head: String,
    pub body: Vec<u8>,
}

impl Recorded {
    /// The lower-case names of the request's headers, sorted.
    pub fn header_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .head
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':').map(|(n, _)| n.trim().to_ascii_lowercase()))
            .collect();
        names.sort();
        names
    }
}

/// The running server (it lives until the process ends).
pub struct BenchServer {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    hits: Arc<AtomicUsize>,
    recording: Arc<AtomicBool>,
    recorded: Arc<Mutex<Vec<Recorded>>>,
}

impl BenchServer {
    /// Requests answered so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Starts recording requests (drops anything recorded before).
    pub fn start_recording(&self) {
        self.recorded.lock().unwrap().clear();
        self.recording.store(true, Ordering::SeqCst);
    }

    /// Stops recording and returns what was recorded, in order.
    pub fn take_recorded(&self) -> Vec<Recorded> {
        self.recording.store(false, Ordering::SeqCst);
        std::mem::take(&mut *self.recorded.lock().unwrap())
    }
}

/// The value of header `name` (ASCII case-insensitive) in a request head.
fn header<'h>(head: &'h [u8], name: &[u8]) -> Option<&'h [u8]> {
    head.split(|&b| b == b'\n').skip(1).find_map(|line| {
        let colon = line.iter().position(|&b| b == b':')?;
        line[..colon].eq_ignore_ascii_case(name).then(|| line[colon + 1..].trim_ascii())
    })
}

/// The path of a request head's request line, without the query.
fn path(head: &[u8]) -> &[u8] {
    let target = head.split(|&b| b == b' ').nth(1).unwrap_or(b"/");
    target.split(|&b| b == b'?').next().unwrap_or(target)
}

/// What the accept loop and the connections share.
#[derive(Clone)]
struct Shared {
    routes: Arc<HashMap<Vec<u8>, Arc<[u8]>>>,
    not_found: Arc<[u8]>,
    delay: Duration,
    hits: Arc<AtomicUsize>,
    recording: Arc<AtomicBool>,
    recorded: Arc<Mutex<Vec<Recorded>>>,
}

impl Shared {
    fn new(routes: HashMap<String, Canned>, delay: Duration) -> Self {
        let not_found =
            Canned { status: 404, headers: vec![], body: br#"{"message":"not found"}"#.to_vec() };
        Shared {
            routes: Arc::new(
                routes.into_iter().map(|(p, c)| (p.into_bytes(), c.render().into())).collect(),
            ),
            not_found: not_found.render().into(),
            delay,
            hits: Arc::default(),
            recording: Arc::default(),
            recorded: Arc::default(),
        }
    }

    fn handle(&self, addr: SocketAddr) -> BenchServer {
        BenchServer {
            base_url: format!("http://{addr}"),
            hits: self.hits.clone(),
            recording: self.recording.clone(),
            recorded: self.recorded.clone(),
        }
    }

    /// Accepts connections forever, each served by its own task.
    async fn accept(self, listener: TcpListener) {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            stream.set_nodelay(true).unwrap();
            tokio::spawn(self.clone().serve(stream));
        }
    }

    /// Answers the requests of one keep-alive connection.
    async fn serve(self, mut stream: TcpStream) {
        let mut buf = Vec::with_capacity(16 * 1024);
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            // One request: its head, then Content-Length bytes of body.
            let head_end = loop {
                if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break p;
                }
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            };
            let head = &buf[..head_end];
            let len = header(head, b"content-length")
                .and_then(|v| std::str::from_utf8(v).ok()?.parse::<usize>().ok())
                .unwrap_or(0);
            let answer = self.routes.get(path(head)).unwrap_or(&self.not_found).clone();
            while buf.len() < head_end + 4 + len {
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            if self.recording.load(Ordering::SeqCst) {
                self.recorded.lock().unwrap().push(Recorded {
                    head: String::from_utf8_lossy(&buf[..head_end]).into_owned(),
                    body: buf[head_end + 4..head_end + 4 + len].to_vec(),
                });
            }
            buf.drain(..head_end + 4 + len);
            self.hits.fetch_add(1, Ordering::SeqCst);
            if !self.delay.is_zero() {
                tokio::time::sleep(self.delay).await;
            }
            if stream.write_all(&answer).await.is_err() {
                return;
            }
        }
    }
}

/// Starts the server as tasks of `rt`, the runtime the benchmarked client runs on (a
/// current-thread one): client and server then take turns on one thread, and a request costs
/// the CPU work of both ends and the loopback TCP stack, without cross-thread wake-ups (whose
/// latency, on a virtual machine with idle vCPUs, is larger and noisier than the work measured).
pub fn start_on(rt: &tokio::runtime::Runtime, routes: HashMap<String, Canned>) -> BenchServer {
    let shared = Shared::new(routes, Duration::ZERO);
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let server = shared.handle(listener.local_addr().unwrap());
    rt.spawn(shared.accept(listener));
    server
}

/// Starts the server on its own thread with its own runtime (like a remote peer), for clients
/// on a multi-thread runtime.
pub fn start(routes: HashMap<String, Canned>) -> BenchServer {
    start_with_delay(routes, Duration::ZERO)
}

/// Like [`start`], answering each request `delay` after it arrived (an upstream's latency).
pub fn start_with_delay(routes: HashMap<String, Canned>, delay: Duration) -> BenchServer {
    let shared = Shared::new(routes, delay);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("bench-server".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(shared.handle(listener.local_addr().unwrap())).unwrap();
                shared.accept(listener).await
            });
        })
        .unwrap();
    rx.recv().unwrap()
}

/// One call of a contender (it panics on failure).
pub type Call<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

/// A contender of a group: its name and how to make one call.
pub type Contender<'a> = (&'static str, Box<dyn Fn() -> Call<'a> + 'a>);

/// Checks that every contender sends the same body bytes (one recorded call each; the header
/// names each sent are printed), then benchmarks them **interleaved**: in every sample, each
/// benchmark runs all contenders in turn and times only its own calls, so drift of the machine
/// hits all contenders alike (each benchmark takes as long as all contenders together). Who
/// goes first rotates every round, and the direction of the turn flips every `n` rounds, so
/// each contender follows each of the others equally often: work one call leaves behind (a
/// connection put back in the pool, a server task finishing) is not always charged to the
/// same next contender.
///
/// Each sample reports its **median call** (times the sample's iteration count), not the sum:
/// on the 2-vCPU VM these figures were taken on, loopback calls are bimodal (a fast mode, and
/// a slow mode some 50% slower on 10-40% of calls, whose share changes from run to run), and
/// sample sums made the ratios swing by ±15% between runs. With `BENCH_SUM` set, samples are
/// plain sums; with `BENCH_SOLO` set, each benchmark runs its own calls only (for profiling).
pub fn interleaved(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    server: &BenchServer,
    group: &str,
    contenders: &[Contender<'_>],
) {
    let mut bodies: Vec<(&str, Vec<u8>)> = Vec::new();
    for (name, call) in contenders {
        server.start_recording();
        rt.block_on(call());
        let recorded = server.take_recorded();
        assert_eq!(recorded.len(), 1, "{group}/{name}: one request expected");
        eprintln!("{group}/{name}: headers {:?}", recorded[0].header_names());
        bodies.push((name, recorded[0].body.clone()));
    }
    for (name, body) in &bodies[1..] {
        assert_eq!(
            String::from_utf8_lossy(body),
            String::from_utf8_lossy(&bodies[0].1),
            "{group}/{name} must send the same body bytes as {group}/{}",
            bodies[0].0
        );
    }
    eprintln!(
        "{group}: same body bytes ({} B): {}",
        bodies[0].1.len(),
        String::from_utf8_lossy(&bodies[0].1)
    );

    if let Some(calls) = std::env::var_os("BENCH_CALLS") {
        count_calls(rt, group, contenders, &calls.to_string_lossy());
        return;
    }
    let n = contenders.len();
    // For profiling one contender alone (`perf`, `valgrind`): BENCH_SOLO=1. For plain sums
    // instead of per-sample medians: BENCH_SUM=1.
    let solo = std::env::var_os("BENCH_SOLO").is_some();
    let sum = std::env::var_os("BENCH_SUM").is_some();
    // Every sample of every benchmark of the group: each contender's median call (ns).
    let paired: Mutex<Vec<Vec<u64>>> = Mutex::default();
    let mut g = c.benchmark_group(group);
    for (own, (name, _)) in contenders.iter().enumerate() {
        g.bench_function(*name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut took = vec![Vec::with_capacity(iters as usize); n];
                    for i in 0..iters as usize {
                        for k in 0..n {
                            let first = i % n;
                            let who = if (i / n).is_multiple_of(2) {
                                (first + k) % n
                            } else {
                                (first + n - k) % n
                            };
                            if solo && who != own {
                                continue;
                            }
                            let started = Instant::now();
                            (contenders[who].1)().await;
                            took[who].push(started.elapsed());
                        }
                    }
                    let medians: Vec<Duration> = took
                        .iter_mut()
                        .map(|t| {
                            t.sort_unstable();
                            t.get(t.len() / 2).copied().unwrap_or_default()
                        })
                        .collect();
                    if !solo {
                        paired
                            .lock()
                            .unwrap()
                            .push(medians.iter().map(|d| d.as_nanos() as u64).collect());
                    }
                    if sum {
                        return took[own].iter().sum();
                    }
                    // The sample's typical call, counted `iters` times.
                    medians[own] * iters as u32
                })
            })
        });
    }
    g.finish();
    write_paired(group, contenders, &paired.into_inner().unwrap());
}

/// `BENCH_CALLS=<group>/<contender>:<n>`: makes `n` calls of that contender, with no criterion
/// timing, for counting instructions: run the bench binary under `valgrind --tool=callgrind`
/// with two values of `n`; the difference of the totals, divided by the difference of `n`, is
/// the contender's cost per call without start-up and set-up (`scripts/bench-instructions.sh`).
/// Other groups make no calls.
fn count_calls(
    rt: &tokio::runtime::Runtime,
    group: &str,
    contenders: &[Contender<'_>],
    spec: &str,
) {
    let (who, n) = spec.split_once(':').expect("BENCH_CALLS=<group>/<contender>:<calls>");
    let n: usize = n.parse().expect("BENCH_CALLS: the call count is a number");
    let Some((_, call)) = contenders.iter().find(|(name, _)| format!("{group}/{name}") == who)
    else {
        return;
    };
    rt.block_on(async {
        for _ in 0..n {
            call().await;
        }
    });
    eprintln!("{who}: {n} calls made");
}

/// Writes `target/criterion/<group>/paired.json`: the contenders' names and, per sample, each
/// one's median call (ns), all measured in the same time window. `scripts/bench-ratios.py`
/// takes the median of the per-sample ratios from it: a paired comparison, which the VM's
/// slow phases (lasting 0.1-1 s) cannot tilt, unlike a ratio of medians taken minutes apart.
fn write_paired(group: &str, contenders: &[Contender<'_>], samples: &[Vec<u64>]) {
    if samples.is_empty() {
        return;
    }
    // Benches run with the package as working directory; CARGO_TARGET_DIR wins when set.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("criterion").join(group);
    let names: Vec<&str> = contenders.iter().map(|(n, _)| *n).collect();
    let json = serde_json::json!({"contenders": names, "samples_ns": samples});
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(dir.join("paired.json"), json.to_string());
    }
}
