//! Cleanup on SIGINT/SIGTERM/SIGHUP.
//!
//! Every [`Lab`](crate::Lab) registers a weak reference to its state in a process-wide registry.
//! [`cleanup_all`] cleans every lab still alive; [`install`] runs it from a dedicated thread
//! (signal-hook's iterator: no work in async-signal context) and then re-raises the signal with
//! its default action, so the process still dies "of SIGINT" with the usual exit status.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::error::{LabError, Result};
use crate::lab::{lock, LabState, Shared};

static REGISTRY: Mutex<Vec<Weak<Mutex<LabState>>>> = Mutex::new(Vec::new());

pub(crate) fn register(s: &Shared) {
    let mut reg = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    reg.retain(|w| w.strong_count() > 0);
    reg.push(Arc::downgrade(s));
}

/// Cleans up every lab of this process that is still alive (see
/// [`Lab::cleanup`](crate::Lab::cleanup)); for a daemon's own Ctrl-C handler. Blocking: from
/// async code run it on a blocking thread. Returns how many labs it cleaned.
pub fn cleanup_all() -> usize {
    // Take strong refs and release the registry before the (slow) cleanups.
    let labs: Vec<Shared> = {
        let reg = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
        reg.iter().filter_map(Weak::upgrade).collect()
    };
    let mut n = 0;
    for s in labs {
        let mut st = lock(&s);
        if !st.cleaned {
            n += 1;
            if let Err(e) = st.cleanup() {
                eprintln!("vigil-lab: cleanup of {}: {e}", st.prefix);
            }
        }
    }
    n
}

pub(crate) fn install() -> Result<()> {
    static INSTALLED: Mutex<bool> = Mutex::new(false);
    let mut installed = INSTALLED.lock().unwrap_or_else(PoisonError::into_inner);
    if *installed {
        return Ok(());
    }
    let sigs = [SIGINT, SIGTERM, SIGHUP];
    let err = |e| LabError::io("installing signal handlers", e);
    // Armed once the first signal arrives: a second one exits immediately (status 130), so a
    // stuck cleanup never makes Ctrl-C useless.
    let armed = Arc::new(AtomicBool::new(false));
    for s in sigs {
        signal_hook::flag::register_conditional_shutdown(s, 130, Arc::clone(&armed))
            .map_err(err)?;
    }
    let mut signals = Signals::new(sigs).map_err(err)?;
    std::thread::Builder::new()
        .name("vigil-lab-signals".to_owned())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                armed.store(true, std::sync::atomic::Ordering::SeqCst);
                let n = cleanup_all();
                eprintln!("vigil-lab: signal {sig}: cleaned up {n} lab(s)");
                let _ = signal_hook::low_level::emulate_default_handler(sig);
                // Only reached for signals whose default is to be ignored (none of ours).
                std::process::exit(128 + sig);
            }
        })
        .map_err(err)?;
    *installed = true;
    Ok(())
}
