//! The progress bar (stderr, only on a terminal) leaves no line on screen when the command is
//! cancelled with Ctrl-C (SIGINT): `ufm run` and `ufm sweep` run with stderr on a pseudo-terminal,
//! are interrupted once the bar is drawn, and what a terminal would show at the end is rebuilt
//! from the bytes written (carriage returns, line feeds, cursor up/down, clear-line).

use std::io::Read;
use std::os::fd::FromRawFd;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const UFM: &str = env!("CARGO_BIN_EXE_ufm");

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ufm-progress-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A pseudo-terminal: (master, path of the slave).
fn pty() -> (std::fs::File, String) {
    // SAFETY: plain POSIX pty calls; the fd is checked and owned by the returned File.
    unsafe {
        let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(fd >= 0, "posix_openpt failed");
        assert_eq!(libc::grantpt(fd), 0);
        assert_eq!(libc::unlockpt(fd), 0);
        let name = std::ffi::CStr::from_ptr(libc::ptsname(fd))
            .to_string_lossy()
            .into_owned();
        // A wide terminal, so that the bar is one line.
        let ws = libc::winsize {
            ws_row: 50,
            ws_col: 200,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        libc::ioctl(fd, libc::TIOCSWINSZ, &ws);
        (std::fs::File::from_raw_fd(fd), name)
    }
}

/// The screen a terminal shows after `bytes`: text, `\r`, `\n`, and the CSI sequences indicatif
/// uses (`K` clear line, `A`/`B` cursor up/down); other sequences are ignored.
fn screen(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col) = (0usize, 0usize);
    let mut it = text.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\r' => col = 0,
            '\n' => {
                row += 1;
                col = 0;
            }
            '\x1b' if it.peek() == Some(&'[') => {
                it.next();
                let mut arg = String::new();
                let mut cmd = ' ';
                for c in it.by_ref() {
                    if c.is_ascii_alphabetic() {
                        cmd = c;
                        break;
                    }
                    arg.push(c);
                }
                let n: usize = arg.parse().unwrap_or(1);
                match cmd {
                    'K' => lines[row].clear(),
                    'A' => row = row.saturating_sub(n),
                    'B' => row += n,
                    _ => {}
                }
            }
            c => {
                while lines.len() <= row {
                    lines.push(Vec::new());
                }
                let l = &mut lines[row];
                while l.len() < col {
                    l.push(' ');
                }
                if col < l.len() {
                    l[col] = c;
                } else {
                    l.push(c);
                }
                col += 1;
            }
        }
        while lines.len() <= row {
            lines.push(Vec::new());
        }
    }
    lines
        .into_iter()
        .map(|l| l.into_iter().collect::<String>().trim_end().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Run `ufm args` with stderr on a pty, SIGINT it once the bar shows `marker`, and return the
/// exit code and the final screen of stderr.
fn interrupted(args: &[&str], marker: &str) -> (Option<i32>, Vec<String>) {
    let (mut master, slave) = pty();
    let err = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&slave)
        .unwrap();
    let mut child = Command::new(UFM)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        // Ends with EIO once the child (the last holder of the slave) has exited.
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut bytes = Vec::new();
    let start = Instant::now();
    while !String::from_utf8_lossy(&bytes).contains(marker) {
        assert!(start.elapsed() < Duration::from_secs(60), "no bar drawn");
        if let Ok(b) = rx.recv_timeout(Duration::from_millis(20)) {
            bytes.extend(b);
        }
    }
    // SAFETY: signalling the child we spawned and have not waited for.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) },
        0
    );
    let status = child.wait().unwrap();
    while let Ok(b) = rx.recv_timeout(Duration::from_millis(500)) {
        bytes.extend(b);
    }
    (status.code(), screen(&bytes))
}

#[test]
fn screen_model_keeps_and_clears_lines() {
    // The emulator itself: a bar redrawn in place, then cleared, leaves only later text.
    let s = screen(b"bar 1/9\r\x1b[2Kbar 2/9\r\x1b[2Kdone\nnext\n");
    assert_eq!(s, ["done", "next"]);
    let s = screen(b"bar 1/9\r\x1b[2Kbar 2/9\nerror\n");
    assert_eq!(s, ["bar 2/9", "error"]);
}

#[test]
fn ctrl_c_leaves_no_progress_bar_on_screen() {
    let d = tmp("bar");
    let job = d.join("long.json");
    std::fs::write(
        &job,
        r#"{"schema_version":1,"name":"long","model":{"classes":4,"per_class":2,"width":6,"layers":2,"lambda":0.01},
 "init":{"name":"scaled","scale":2.0,"seed":0},"optimizer":{"name":"gd","lr":0.5},
 "train":{"max_steps":500000000,"tol":0,"record_every":50},
 "sweep":{"model.width":[8,12],"init.seed":{"range":[0,2]}}}"#,
    )
    .unwrap();
    // One run of the same model (the sweep section removed).
    let single = d.join("single.json");
    let text = std::fs::read_to_string(&job).unwrap();
    let text = text.replace(
        ",\n \"sweep\":{\"model.width\":[8,12],\"init.seed\":{\"range\":[0,2]}}",
        "",
    );
    std::fs::write(&single, text).unwrap();
    let out = d.join("run");
    let (code, screen) = interrupted(
        &[
            "run",
            single.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        " steps  loss",
    );
    assert_eq!(code, Some(130), "{screen:?}");
    // Only the closing message: no bar, spinner or "writing results" line above it.
    assert_eq!(screen.len(), 1, "a bar stayed on screen: {screen:#?}");
    assert!(
        screen[0].starts_with("ufm: the run ended with status `cancelled`"),
        "{screen:#?}"
    );
    let (code, screen) = interrupted(
        &[
            "sweep",
            job.to_str().unwrap(),
            "--out",
            d.join("sweep").to_str().unwrap(),
        ],
        " runs ",
    );
    assert_eq!(code, Some(130), "{screen:?}");
    // The sweep's closing lines only: "sweep: 4 runs, ..." and the interruption message.
    assert_eq!(screen.len(), 2, "a bar stayed on screen: {screen:#?}");
    assert!(
        screen[0].starts_with("sweep: 4 runs") && screen[1].starts_with("ufm: sweep interrupted"),
        "{screen:#?}"
    );
    let _ = std::fs::remove_dir_all(&d);
}
