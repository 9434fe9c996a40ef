//! `msnp-server` command line: run an MSNP7/MSNP8 server until Ctrl-C (then `OUT SSD` to
//! everyone).

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use msnp_server::{load_accounts, AccountSpec, Config, Server, DEMO_ACCOUNT, DEMO_PASSWORD};

const USAGE: &str = "\
usage: msnp-server [options]

  --listen ADDR            where clients connect (default 127.0.0.1:1863)
  --accounts FILE          JSON array of {\"passport\", \"password\", \"display_name\"}
  --account EMAIL:PASSWORD add one account (repeatable)
  --state FILE             keep lists, groups, settings and versions in FILE
  --demo                   demo account, ~40 virtual contacts and an echo bot
  --dispatch               run a dispatch server on --listen that redirects to the NS
  --ns-listen ADDR         notification server address with --dispatch (default: any port)
  --sb-listen ADDR         switchboard address (default: the listen IP, any port)
  --public-host HOST       host name written into XFR and RNG
  --challenges             send CHL after the first CHG and check QRY
  --https-listen ADDR      Passport nexus and login server over HTTPS (default 127.0.0.1:0,
                           any free port; the nexus URL is printed at start)
  --ca-out PATH            write the PEM certificate of the generated CA to PATH (clients
                           trust it for the HTTPS endpoints, e.g. msnp-cli --ca-file PATH)
  --no-msnp8               speak MSNP2-MSNP7 only (no HTTPS endpoints)
  --sb-idle-timeout SECS   close quiet switchboard connections (default 300)
  --control                read JSON requests on stdin, answer on stdout after \"control: \"
                           (for tests: {\"cmd\": \"help\"} lists the commands)
  -h, --help               this text";

/// What the command line asks for beyond the server's [`Config`].
#[derive(Default)]
struct Extra {
    ca_out: Option<PathBuf>,
    control: bool,
}

fn parse(args: &[String]) -> Result<(Config, Extra), String> {
    let mut cfg = Config::default();
    let mut extra = Extra::default();
    let mut it = args.iter();
    let addr = |v: Option<&String>, opt: &str| -> Result<SocketAddr, String> {
        let v = v.ok_or_else(|| format!("{opt} needs a value"))?;
        v.parse()
            .map_err(|_| format!("{opt}: {v:?} is not an address like 127.0.0.1:1863"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--listen" => cfg.listen = addr(it.next(), arg)?,
            "--ns-listen" => cfg.ns_listen = Some(addr(it.next(), arg)?),
            "--sb-listen" => cfg.sb_listen = Some(addr(it.next(), arg)?),
            "--accounts" => {
                let path = it.next().ok_or("--accounts needs a file")?;
                let list = load_accounts(&PathBuf::from(path)).map_err(|e| e.to_string())?;
                cfg.accounts.extend(list);
            }
            "--account" => {
                let pair = it.next().ok_or("--account needs EMAIL:PASSWORD")?;
                cfg.accounts
                    .push(AccountSpec::parse_pair(pair).map_err(|e| e.to_string())?);
            }
            "--state" => cfg.state_path = Some(it.next().ok_or("--state needs a file")?.into()),
            "--public-host" => {
                cfg.public_host = Some(it.next().ok_or("--public-host needs a name")?.clone())
            }
            "--sb-idle-timeout" => {
                let v = it.next().ok_or("--sb-idle-timeout needs seconds")?;
                let secs: u64 = v.parse().map_err(|_| format!("bad seconds {v:?}"))?;
                cfg.sb_idle_timeout = Duration::from_secs(secs);
            }
            "--demo" => cfg.demo = true,
            "--dispatch" => cfg.dispatch = true,
            "--challenges" => cfg.challenges = true,
            "--https-listen" => cfg.https_listen = Some(addr(it.next(), arg)?),
            "--ca-out" => {
                extra.ca_out = Some(PathBuf::from(it.next().ok_or("--ca-out needs a path")?))
            }
            "--control" => extra.control = true,
            "--no-msnp8" => {
                cfg.msnp8 = false;
                cfg.https_listen = None;
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    if cfg.accounts.is_empty() && !cfg.demo {
        return Err("no accounts: give --accounts, --account or --demo".into());
    }
    Ok((cfg, extra))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cfg, extra) = match parse(&args) {
        Ok(c) => c,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("msnp-server: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let demo = cfg.demo;
    let handle = match Server::start(cfg) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("msnp-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("msnp-server: clients connect to {}", handle.ns_addr());
    if handle.notification_addr() != handle.ns_addr() {
        println!(
            "msnp-server: notification server {}",
            handle.notification_addr()
        );
    }
    println!("msnp-server: switchboard {}", handle.sb_addr());
    if let Some(nexus) = handle.nexus_url() {
        println!("msnp-server: Passport nexus {nexus}");
    }
    if let Some(path) = &extra.ca_out {
        let written = match handle.ca_pem() {
            Some(pem) => std::fs::write(path, pem).map_err(|e| e.to_string()),
            None => Err("the HTTPS endpoints are off".to_string()),
        };
        match written {
            Ok(()) => println!("msnp-server: CA certificate written to {}", path.display()),
            Err(e) => {
                eprintln!(
                    "msnp-server: cannot write the CA certificate to {}: {e}",
                    path.display()
                );
                handle.shutdown();
                return ExitCode::FAILURE;
            }
        }
    }
    if demo {
        println!("msnp-server: demo account {DEMO_ACCOUNT}, password {DEMO_PASSWORD}");
    }
    // Shared with the control thread; taken back out to shut down.
    let handle = Arc::new(Mutex::new(Some(handle)));
    if extra.control {
        spawn_control(Arc::clone(&handle));
    }
    let waited = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map(|rt| rt.block_on(tokio::signal::ctrl_c()));
    if let Ok(Err(e)) | Err(e) = waited {
        eprintln!("msnp-server: cannot wait for Ctrl-C ({e}); stopping");
    }
    println!("msnp-server: shutting down");
    let taken = handle.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(handle) = taken {
        handle.shutdown();
    }
    ExitCode::SUCCESS
}

/// Answers `--control` requests from stdin on a thread of its own until stdin closes.
fn spawn_control(handle: Arc<Mutex<Option<msnp_server::ServerHandle>>>) {
    let spawned = std::thread::Builder::new()
        .name("msnp-server-control".into())
        .spawn(move || {
            let stdin = std::io::stdin();
            for line in stdin.lock().lines() {
                let Ok(line) = line else { break };
                if line.trim().is_empty() {
                    continue;
                }
                let guard = handle.lock().unwrap_or_else(|p| p.into_inner());
                let Some(server) = guard.as_ref() else { break };
                let answer = msnp_server::control::answer(server, &line);
                drop(guard);
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{}{answer}", msnp_server::control::ANSWER_PREFIX);
                let _ = out.flush();
            }
        });
    if let Err(e) = spawned {
        eprintln!("msnp-server: cannot start the control thread: {e}");
    }
}
