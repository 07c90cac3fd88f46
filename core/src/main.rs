/// mimalloc rather than glibc's malloc: measured faster on the request path
/// and far smaller under load (docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    guichet::cli::main()
}
