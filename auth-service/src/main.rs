//! Entry point of `auth-service`.

fn main() -> std::process::ExitCode {
    eprintln!("auth-service: not implemented yet");
    std::process::ExitCode::from(64)
}
