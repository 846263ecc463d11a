//! Entry point of `blog-service`.

fn main() -> std::process::ExitCode {
    eprintln!("blog-service: not implemented yet");
    std::process::ExitCode::from(64)
}
