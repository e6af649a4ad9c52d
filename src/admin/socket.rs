//! The local admin socket (`<data>/admin.sock`, mode 0600): one JSON
//! request line in, one JSON response line out.

use std::path::Path;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio_util::sync::CancellationToken;

use crate::state::App;

use super::{execute, Request, Response, SOCKET};

/// Serves admin requests on `<data>/admin.sock` until `shutdown`.
#[cfg(unix)]
pub async fn serve_socket(
    app: App,
    data_dir: &Path,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let path = data_dir.join(SOCKET);
    let _ = std::fs::remove_file(&path);
    let listener = tokio::net::UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    loop {
        let (stream, _) = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = listener.accept() => match r { Ok(x) => x, Err(_) => continue },
        };
        let app = app.clone();
        tokio::spawn(async move {
            let (r, mut w) = stream.into_split();
            let mut line = String::new();
            let mut reader = BufReader::new(r.take(1024 * 1024));
            if reader.read_line(&mut line).await.is_err() {
                return;
            }
            let resp = match serde_json::from_str::<Request>(&line) {
                Ok(req) => execute(&app, req).await,
                Err(e) => Response::fail(format!("bad admin request: {e}\n")),
            };
            if let Ok(mut bytes) = serde_json::to_vec(&resp) {
                bytes.push(b'\n');
                let _ = w.write_all(&bytes).await;
            }
        });
    }
    let _ = std::fs::remove_file(&path);
    Ok(())
}

/// Sends a request to a running server; `None` when no server listens.
#[cfg(unix)]
pub async fn send_to_server(data_dir: &Path, req: &Request) -> Option<Response> {
    let stream = tokio::net::UnixStream::connect(data_dir.join(SOCKET))
        .await
        .ok()?;
    let (r, mut w) = stream.into_split();
    let mut bytes = serde_json::to_vec(req).ok()?;
    bytes.push(b'\n');
    w.write_all(&bytes).await.ok()?;
    let mut line = String::new();
    BufReader::new(r).read_line(&mut line).await.ok()?;
    serde_json::from_str(&line).ok()
}
