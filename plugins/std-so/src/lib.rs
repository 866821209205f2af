//! `libufm_plugin_std.so`: exports the plugin entry symbol of `ufm-plugin-std`. A separate crate
//! because `ufm-plugin-std` is also linked into libufm, which must not re-export the symbol.

/// The exported entry symbol (see include/ufm_plugin.h).
#[no_mangle]
pub extern "C" fn ufm_plugin_get_entry() -> *const ufm_plugin_sdk::abi::UfmPluginEntry {
    std::panic::catch_unwind(std_plugin::plugin_entry).unwrap_or(std::ptr::null())
}
