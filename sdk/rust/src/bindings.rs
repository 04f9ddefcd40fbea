//! Generated bindings for `vigil:plugin@0.1.0`.
//!
//! One `generate!` per exported interface (plus one for the imports) rather than one
//! per world: both worlds export `plugin`, and two generations of it would define the
//! same `#[macro_export]` macro twice. Each part carries its own component-type
//! section; `wit-component` unions the parts a plugin links into its world.

// Generated code: its FFI glue is unsafe by nature (audited upstream in wit-bindgen).
#![allow(unsafe_code)]

/// The imported interfaces (`types`, `log`), shared by every part below.
pub mod imports {
    wit_bindgen::generate!({
        path: "../../wit",
        inline: "package vigil:sdk;
            world imports {
                import vigil:plugin/types@0.1.0;
                import vigil:plugin/log@0.1.0;
            }",
        world: "vigil:sdk/imports",
        additional_derives: [PartialEq],
        generate_all,
    });
}

/// The `plugin` export (both worlds).
pub mod plugin_part {
    wit_bindgen::generate!({
        path: "../../wit",
        inline: "package vigil:sdk;
            world plugin-part {
                export vigil:plugin/plugin@0.1.0;
            }",
        world: "vigil:sdk/plugin-part",
        with: { "vigil:plugin/types@0.1.0": crate::bindings::imports::vigil::plugin::types },
        pub_export_macro: true,
        export_macro_name: "__export_plugin_part",
        default_bindings_module: "vigil_sdk::bindings::plugin_part",
    });
}

/// The `checker` export (world `health-check`).
pub mod checker_part {
    wit_bindgen::generate!({
        path: "../../wit",
        inline: "package vigil:sdk;
            world checker-part {
                import vigil:plugin/log@0.1.0;
                export vigil:plugin/checker@0.1.0;
            }",
        world: "vigil:sdk/checker-part",
        with: {
            "vigil:plugin/types@0.1.0": crate::bindings::imports::vigil::plugin::types,
            "vigil:plugin/log@0.1.0": crate::bindings::imports::vigil::plugin::log,
        },
        pub_export_macro: true,
        export_macro_name: "__export_checker_part",
        default_bindings_module: "vigil_sdk::bindings::checker_part",
    });
}

/// The `notifier` export (world `notifier-plugin`).
pub mod notifier_part {
    wit_bindgen::generate!({
        path: "../../wit",
        inline: "package vigil:sdk;
            world notifier-part {
                import vigil:plugin/log@0.1.0;
                export vigil:plugin/notifier@0.1.0;
            }",
        world: "vigil:sdk/notifier-part",
        with: {
            "vigil:plugin/types@0.1.0": crate::bindings::imports::vigil::plugin::types,
            "vigil:plugin/log@0.1.0": crate::bindings::imports::vigil::plugin::log,
        },
        pub_export_macro: true,
        export_macro_name: "__export_notifier_part",
        default_bindings_module: "vigil_sdk::bindings::notifier_part",
    });
}
