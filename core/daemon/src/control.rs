//! The control socket: HTTP/1.1 over a root-only unix socket, JSON bodies.
//!
//! `GET /v1/status` returns the state of every instance; `POST /v1/reload`
//! reloads the configuration like SIGHUP. `vigil status` is the client.

use std::convert::Infallible;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

use crate::daemon::engine::{Command, Status};

/// What the control server can ask of the daemon.
#[derive(Clone, Debug)]
pub struct ControlHandle {
    /// The engine thread.
    pub engine: mpsc::Sender<Command>,
    /// Asks the main loop to reload; the reply is the summary or the error.
    pub reload: mpsc::Sender<oneshot::Sender<Result<serde_json::Value, String>>>,
    /// The current checks task (replaced on reload).
    pub checks: tokio::sync::watch::Receiver<mpsc::Sender<crate::daemon::checks::ChecksCmd>>,
}

/// Bind the socket: parent directory created, stale socket replaced,
/// permissions 0600 (root only: status reveals the topology, reload changes it).
pub fn bind(path: &Path) -> Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("removing stale {}", path.display())),
    }
    let l = UnixListener::bind(path).with_context(|| format!("binding {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("chmod 0600 {}", path.display()))?;
    Ok(l)
}

/// Serve until the listener fails.
pub async fn serve(listener: UnixListener, handle: ControlHandle) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                warn!("control socket accept: {e}");
                continue;
            }
        };
        let h = handle.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| route(h.clone(), req));
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await
            {
                debug!("control connection: {e}");
            }
        });
    }
}

fn json(status: StatusCode, body: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

async fn route(
    h: ControlHandle,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let err = |code, msg: &str| json(code, &serde_json::json!({ "error": msg }));
    Ok(match (req.method(), req.uri().path()) {
        (&Method::GET, "/v1/status") => {
            let (tx, rx) = oneshot::channel();
            if h.engine.send(Command::Status(tx)).await.is_err() {
                return Ok(err(StatusCode::SERVICE_UNAVAILABLE, "engine stopped"));
            }
            let checks_tx = h.checks.borrow().clone();
            let (ctx, crx) = oneshot::channel();
            let checks = match checks_tx
                .send(crate::daemon::checks::ChecksCmd::Status(ctx))
                .await
            {
                Ok(()) => crx.await.unwrap_or_default(),
                Err(_) => Default::default(),
            };
            match rx.await {
                Ok(s) => match serde_json::to_value::<Status>(s) {
                    Ok(mut v) => {
                        if let (Some(o), Ok(c)) = (v.as_object_mut(), serde_json::to_value(checks))
                        {
                            if let Some(c) = c.as_object() {
                                for (k, val) in c {
                                    o.insert(k.clone(), val.clone());
                                }
                            }
                        }
                        json(StatusCode::OK, &v)
                    }
                    Err(e) => err(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
                },
                Err(_) => err(StatusCode::SERVICE_UNAVAILABLE, "engine stopped"),
            }
        }
        (&Method::POST, "/v1/reload") => {
            let (tx, rx) = oneshot::channel();
            if h.reload.send(tx).await.is_err() {
                return Ok(err(StatusCode::SERVICE_UNAVAILABLE, "daemon stopping"));
            }
            match rx.await {
                Ok(Ok(v)) => json(StatusCode::OK, &v),
                Ok(Err(e)) => err(StatusCode::UNPROCESSABLE_ENTITY, &e),
                Err(_) => err(StatusCode::SERVICE_UNAVAILABLE, "daemon stopping"),
            }
        }
        _ => err(
            StatusCode::NOT_FOUND,
            "unknown endpoint (try GET /v1/status, POST /v1/reload)",
        ),
    })
}

/// Client side: one request, the JSON body back.
pub async fn request(socket: &PathBuf, method: Method, path: &str) -> Result<serde_json::Value> {
    let stream = UnixStream::connect(socket).await.with_context(|| {
        format!(
            "connecting to {} (is `vigil run` running, and are you root?)",
            socket.display()
        )
    })?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, "vigil")
        .body(Full::new(Bytes::new()))?;
    let resp = sender.send_request(req).await?;
    let status = resp.status();
    let body = resp.into_body().collect().await?.to_bytes();
    let v: serde_json::Value =
        serde_json::from_slice(&body).context("control socket answered non-JSON")?;
    if !status.is_success() {
        let msg = v.get("error").and_then(|e| e.as_str()).unwrap_or("error");
        bail!("{status}: {msg}");
    }
    Ok(v)
}
