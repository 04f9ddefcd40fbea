//! Logging into Vigil's log (the WIT `log` import), tagged by the host with the
//! plugin and check name. Outside a component (native unit tests) messages go to
//! stderr instead, because the import only exists inside the host.

use crate::bindings::imports::vigil::plugin::log::Level;

fn emit(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::bindings::imports::vigil::plugin::log::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[{level:?}] {message}");
}

/// Very detailed tracing, off unless the operator asks for it.
pub fn trace(message: &str) {
    emit(Level::Trace, message);
}

/// Diagnostics useful when debugging a check.
pub fn debug(message: &str) {
    emit(Level::Debug, message);
}

/// Noteworthy events.
pub fn info(message: &str) {
    emit(Level::Info, message);
}

/// Something is off but the plugin carries on.
pub fn warn(message: &str) {
    emit(Level::Warn, message);
}

/// Something failed.
pub fn error(message: &str) {
    emit(Level::Error, message);
}
