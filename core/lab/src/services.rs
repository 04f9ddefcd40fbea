//! Real services inside lab hosts, for the tests and benchmarks where Vigil guards them.

use std::path::Path;

use crate::error::{LabError, Result};
use crate::host::{Host, Process};

/// nginx in `host` on port 80 of every address, serving `/health` as `ok <host name>`, with
/// its files under `dir/nginx-<host>` (logs, pid, temp). `Process::terminate` stops it; lab
/// cleanup does too.
pub fn nginx(host: &Host, dir: &Path) -> Result<Process> {
    let root = dir.join(format!("nginx-{}", host.name()));
    let io =
        |e: std::io::Error| LabError::Invalid(format!("nginx files in {}: {e}", root.display()));
    std::fs::create_dir_all(root.join("html")).map_err(io)?;
    std::fs::create_dir_all(root.join("tmp")).map_err(io)?;
    std::fs::write(root.join("html/health"), format!("ok {}\n", host.name())).map_err(io)?;
    let conf = format!(
        "worker_processes 1;\nerror_log {r}/error.log;\npid {r}/nginx.pid;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {r}/tmp;\n  proxy_temp_path {r}/tmp;\n\
           fastcgi_temp_path {r}/tmp;\n  uwsgi_temp_path {r}/tmp;\n  scgi_temp_path {r}/tmp;\n\
           server {{ listen 80; root {r}/html; location = /health {{ default_type text/plain; }} }}\n}}\n",
        r = root.display()
    );
    let conf_path = root.join("nginx.conf");
    std::fs::write(&conf_path, conf).map_err(io)?;
    host.spawn(
        "nginx",
        [
            "-p".as_ref(),
            root.as_os_str(),
            "-c".as_ref(),
            conf_path.as_os_str(),
            "-g".as_ref(),
            std::ffi::OsStr::new("daemon off;"),
        ],
        root.join("stderr.log"),
    )
}
