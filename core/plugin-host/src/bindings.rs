//! `bindgen!` output for both worlds. Nothing here is public: the crate converts
//! every bindgen type into its own [`crate::types`] so users never depend on the
//! generated code (which changes with each wasmtime release).

/// The `health-check` world. Its `types` and `log` interfaces are shared with
/// the notifier world below, so one `log` implementation serves both.
pub(crate) mod check {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "health-check",
        exports: { default: async },
    });
}

/// The `notifier-plugin` world, reusing the health-check world's shared interfaces.
pub(crate) mod notify {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "notifier-plugin",
        exports: { default: async },
        with: {
            "vigil:plugin/types": crate::bindings::check::vigil::plugin::types,
            "vigil:plugin/log": crate::bindings::check::vigil::plugin::log,
        },
    });
}

pub(crate) use check::vigil::plugin::log::Level as WitLevel;
pub(crate) use check::vigil::plugin::types as wit;
