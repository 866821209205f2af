//! In-process checks of the ABI validation (the dlopen cases are in tests/plugins.rs).

use super::*;
use ufm_plugin_abi::UFM_PLUGIN_ABI_MINOR;

fn entry_with(opts: &[*const UfmOptimizerVtable]) -> UfmPluginEntry {
    UfmPluginEntry {
        abi_major: UFM_PLUGIN_ABI_MAJOR,
        struct_size: std::mem::size_of::<UfmPluginEntry>() as u32,
        abi_minor: UFM_PLUGIN_ABI_MINOR,
        reserved: 0,
        name: std::ptr::null(),
        optimizers: opts.as_ptr(),
        optimizer_count: opts.len(),
        initializers: std::ptr::null(),
        initializer_count: 0,
    }
}

fn std_gd() -> UfmOptimizerVtable {
    let lib = builtin();
    lib.optimizers.iter().find(|(id, _)| id == "gd").unwrap().1
}

#[test]
fn the_builtin_library_lists_every_shipped_rule() {
    let lib = builtin();
    assert_eq!(
        lib.optimizer_ids(),
        ["gd", "sgd", "momentum", "nesterov", "adam", "adamw", "flow"]
    );
    assert_eq!(lib.initializer_ids(), ["gaussian", "scaled", "orthogonal"]);
}

#[test]
fn malformed_entries_are_refused_with_reasons() {
    // SAFETY (all calls): the entries below are valid for reading.
    let e = unsafe { check_entry("lib.so", std::ptr::null()) }
        .err()
        .unwrap();
    assert!(
        matches!(&e, Error::Plugin { library, id: None, code: None, .. } if library == "lib.so"),
        "{e:?}"
    );
    let e = e.to_string();
    assert_eq!(e, "plugin lib.so: the entry function returned NULL");

    let vt = std_gd();
    let mut no_id = vt;
    no_id.id = std::ptr::null();
    let table = [&no_id as *const _];
    let e = unsafe { check_entry("lib.so", &entry_with(&table)) }
        .err()
        .unwrap()
        .to_string();
    assert_eq!(e, "plugin lib.so: optimizer 0: null id");

    let mut small = vt;
    small.struct_size = 8;
    let table = [&small as *const _];
    let e = unsafe { check_entry("lib.so", &entry_with(&table)) }
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("optimizer 0: vtable struct_size 8 is smaller than"),
        "{e}"
    );

    let mut nulls = vt;
    nulls.create = None;
    nulls.state_len = None;
    let table = [&nulls as *const _];
    let e = unsafe { check_entry("lib.so", &entry_with(&table)) }
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        e,
        "plugin lib.so: optimizer `gd`: null function pointer create, state_len"
    );

    let table = [std::ptr::null()];
    let e = unsafe { check_entry("lib.so", &entry_with(&table)) }
        .err()
        .unwrap()
        .to_string();
    assert_eq!(e, "plugin lib.so: optimizer 0: null vtable pointer");

    let mut entry = entry_with(&[]);
    entry.optimizer_count = 2;
    entry.optimizers = std::ptr::null();
    let e = unsafe { check_entry("lib.so", &entry) }
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("`optimizers`"), "{e}");

    let table = [&vt as *const _];
    let ok = unsafe { check_entry("lib.so", &entry_with(&table)) }.unwrap();
    assert_eq!(ok.optimizer_ids(), ["gd"]);
}

#[test]
fn a_minor_0_optimizer_vtable_loads_and_uses_update() {
    // A plugin built against ABI minor 0 has a vtable that ends at `update`: the host reads only
    // those bytes, takes the minor-1 fields as NULL and runs the classic update.
    let mut words = [0usize; 16];
    let vt = builtin()
        .optimizers
        .iter()
        .find(|(id, _)| id == "flow")
        .unwrap()
        .1;
    // SAFETY: copying the first V0 bytes of a valid vtable into a larger zeroed buffer.
    unsafe {
        std::ptr::copy_nonoverlapping(
            (&vt as *const UfmOptimizerVtable).cast::<u8>(),
            words.as_mut_ptr().cast::<u8>(),
            UFM_PLUGIN_OPTIMIZER_VTABLE_SIZE_V0,
        )
    };
    words[0] = UFM_PLUGIN_OPTIMIZER_VTABLE_SIZE_V0;
    // Poison what lies beyond struct_size: the host must not read it.
    for w in &mut words[UFM_PLUGIN_OPTIMIZER_VTABLE_SIZE_V0 / std::mem::size_of::<usize>()..] {
        *w = 0x1;
    }
    let table = [words.as_ptr().cast::<UfmOptimizerVtable>()];
    // SAFETY: the entry and the (V0-sized) vtable are valid for reading.
    let lib = unsafe { check_entry("old.so", &entry_with(&table)) }.unwrap();
    let opt = lib.optimizer("flow", &serde_json::json!({})).unwrap();
    assert_eq!(opt.stages(), 1, "no minor-1 functions: the classic update");
    let full = builtin().optimizer("flow", &serde_json::json!({})).unwrap();
    assert_eq!(full.stages(), 7);
}
