//! A counting global allocator for the no-allocation tests (each test binary that includes this
//! file gets its own): [`count`] runs a closure and returns how many allocations and
//! reallocations the calling thread made inside it (other threads, e.g. the test harness's, are
//! not counted).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

struct Counting;
static COUNT: AtomicUsize = AtomicUsize::new(0);
static ARMED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Only the measuring thread counts (the test harness allocates on other threads).
    static MEASURING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn counting() -> bool {
    ARMED.load(Ordering::Relaxed) && MEASURING.try_with(|m| m.get()).unwrap_or(false)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counting() {
            COUNT.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        if counting() {
            COUNT.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Measurements take this lock: the allocation counter is global.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Run `f` and return the allocations the calling thread made during it.
pub fn count(f: impl FnOnce()) -> usize {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    COUNT.store(0, Ordering::SeqCst);
    MEASURING.with(|m| m.set(true));
    ARMED.store(true, Ordering::SeqCst);
    f();
    ARMED.store(false, Ordering::SeqCst);
    MEASURING.with(|m| m.set(false));
    COUNT.load(Ordering::SeqCst)
}
