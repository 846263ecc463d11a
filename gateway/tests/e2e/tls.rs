//! The TLS listener through the real gateway: the certificate per SNI (exact, wildcard, default),
//! HTTP/1.1 and HTTP/2 over TLS (curl), `X-Forwarded-Proto: https`, and a certificate rotated in
//! the file under load. Certificates are made by the test (openssl), never committed.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use openssl::{
    asn1::Asn1Time,
    bn::{BigNum, MsbOption},
    ec::{EcGroup, EcKey},
    hash::MessageDigest,
    nid::Nid,
    pkey::PKey,
    ssl::{SslConnector, SslMethod, SslVerifyMode},
    x509::{X509, X509NameBuilder, extension::SubjectAlternativeName},
};
use testkit::{free_port, wait_for_tcp};

use crate::helpers::{Gateway, Upstream, big_body_byte, get_json};

/// A self-signed certificate and its key, as PEM.
struct Pair {
    cert: String,
    key: String,
}

/// A self-signed P-256 certificate for `common_name` with `names` as DNS SANs.
fn self_signed(common_name: &str, names: &[&str]) -> Pair {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    self_signed_with(
        common_name,
        names,
        PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap(),
    )
}

/// A self-signed certificate for `common_name` with `names` as DNS SANs, on `key`.
fn self_signed_with(common_name: &str, names: &[&str], key: PKey<openssl::pkey::Private>) -> Pair {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, common_name)
        .unwrap();
    let name = name.build();
    let mut builder = X509::builder().unwrap();
    builder.set_version(2).unwrap();
    let mut serial = BigNum::new().unwrap();
    serial.rand(64, MsbOption::MAYBE_ZERO, false).unwrap();
    builder
        .set_serial_number(&serial.to_asn1_integer().unwrap())
        .unwrap();
    builder.set_subject_name(&name).unwrap();
    builder.set_issuer_name(&name).unwrap();
    builder.set_pubkey(&key).unwrap();
    builder
        .set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    builder
        .set_not_after(&Asn1Time::days_from_now(2).unwrap())
        .unwrap();
    if !names.is_empty() {
        let mut san = SubjectAlternativeName::new();
        for dns in names {
            san.dns(dns);
        }
        let san = san.build(&builder.x509v3_context(None, None)).unwrap();
        builder.append_extension(san).unwrap();
    }
    builder.sign(&key, MessageDigest::sha256()).unwrap();
    Pair {
        cert: String::from_utf8(builder.build().to_pem().unwrap()).unwrap(),
        key: String::from_utf8(key.private_key_to_pem_pkcs8().unwrap()).unwrap(),
    }
}

/// `pem` as a YAML block scalar's lines, indented by `indent` spaces.
fn block(pem: &str, indent: usize) -> String {
    pem.lines()
        .map(|line| format!("{}{line}\n", " ".repeat(indent)))
        .collect()
}

/// A `certificates` entry.
fn certificate(id: &str, pair: &Pair, snis: &[&str]) -> String {
    let snis: Vec<String> = snis.iter().map(|sni| format!("\"{sni}\"")).collect();
    format!(
        "  - id: {id}\n    snis: [{}]\n    cert: |\n{}    key: |\n{}",
        snis.join(", "),
        block(&pair.cert, 6),
        block(&pair.key, 6)
    )
}

/// One service on `/svc` in front of `upstream`, and `certificates`.
fn config(upstream: &Upstream, certificates: &[String]) -> String {
    format!(
        "_format_version: \"3.0\"\nservices:\n  - name: svc\n    url: http://{}\n    routes: [{{name: svc, paths: [/svc]}}]\ncertificates:\n{}",
        upstream.target(),
        certificates.concat()
    )
}

/// Starts the gateway with a TLS listener; returns it and the TLS port.
fn start_with_tls(config: &str) -> (Gateway, u16) {
    let tls_port = free_port();
    let gateway = Gateway::start_with_settings(
        &format!("  proxy_listen_tls: \"127.0.0.1:{tls_port}\"\n"),
        config,
    );
    wait_for_tcp(
        SocketAddr::from(([127, 0, 0, 1], tls_port)),
        Duration::from_secs(10),
    )
    .unwrap_or_else(|err| {
        panic!(
            "the TLS listener did not start: {err}\n{}",
            gateway.process.logs()
        )
    });
    (gateway, tls_port)
}

/// Handshakes with `sni` (none when `None`) and returns the common name of the certificate the
/// gateway presented, and the TLS stream for a request.
fn handshake(port: u16, sni: Option<&str>) -> (String, openssl::ssl::SslStream<TcpStream>) {
    let mut connector = SslConnector::builder(SslMethod::tls_client()).unwrap();
    connector.set_verify(SslVerifyMode::NONE);
    let connector = connector.build();
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut configuration = connector.configure().unwrap();
    configuration.set_verify_hostname(false);
    let stream = match sni {
        Some(name) => configuration.connect(name, tcp),
        None => configuration
            .use_server_name_indication(false)
            .connect("", tcp),
    }
    .unwrap();
    let common_name = stream
        .ssl()
        .peer_certificate()
        .expect("a certificate")
        .subject_name()
        .entries_by_nid(Nid::COMMONNAME)
        .next()
        .unwrap()
        .data()
        .as_slice()
        .to_vec();
    let common_name = String::from_utf8(common_name).unwrap();
    (common_name, stream)
}

/// One HTTP/1.1 request over a fresh TLS connection with `sni`; the answer's status code.
fn get_over_tls(port: u16, sni: &str, path: &str) -> Result<(String, u16), String> {
    let (common_name, mut stream) = handshake(port, Some(sni));
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {sni}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .map_err(|err| err.to_string())?;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("no status line in {text:?}"))?;
    Ok((common_name, status))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_sni_gets_its_certificate_wildcards_match_and_others_get_the_default() {
    let upstream = Upstream::start("a").await;
    let exact = self_signed("a.example", &["a.example"]);
    let wildcard = self_signed("*.wild.example", &["*.wild.example"]);
    let default = self_signed("default", &[]);
    let (_gateway, port) = start_with_tls(&config(
        &upstream,
        &[
            certificate("default", &default, &[]),
            certificate("exact", &exact, &["a.example"]),
            certificate("wildcard", &wildcard, &["*.wild.example"]),
        ],
    ));

    tokio::task::spawn_blocking(move || {
        for (sni, expected) in [
            (Some("a.example"), "a.example"),
            (Some("A.Example"), "a.example"),
            (Some("x.wild.example"), "*.wild.example"),
            (Some("y.x.wild.example"), "default"),
            (Some("unknown.example"), "default"),
            (None, "default"),
        ] {
            assert_eq!(handshake(port, sni).0, expected, "SNI {sni:?}");
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_over_https_with_http1_and_http2_reaches_the_upstream_as_https() {
    let upstream = Upstream::start("a").await;
    let pair = self_signed("a.example", &["a.example"]);
    let (_gateway, port) = start_with_tls(&config(
        &upstream,
        &[certificate("a", &pair, &["a.example"])],
    ));

    for (flag, version) in [("--http1.1", "1.1"), ("--http2", "2")] {
        let output = tokio::process::Command::new("curl")
            .args([
                "-sk",
                flag,
                "-w",
                "\n%{http_version} %{http_code}",
                "--resolve",
            ])
            .arg(format!("a.example:{port}:127.0.0.1"))
            .arg(format!("https://a.example:{port}/svc/x"))
            .output()
            .await
            .expect("curl is installed");
        let text = String::from_utf8_lossy(&output.stdout).to_string();
        let (body, last) = text.rsplit_once('\n').unwrap_or_else(|| panic!("{text:?}"));
        assert_eq!(last, format!("{version} 200"), "{flag}: {text}");
        let echoed: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(echoed["path"], "/x");
        assert_eq!(echoed["headers"]["x-forwarded-proto"], "https", "{flag}");
        assert_eq!(
            echoed["headers"]["x-forwarded-port"],
            port.to_string(),
            "{flag}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_certificate_rotated_in_the_file_serves_new_handshakes_within_a_second_without_failures()
{
    let upstream = Upstream::start("a").await;
    let old = self_signed("a.example old", &["a.example"]);
    let new = self_signed("a.example new", &["a.example"]);
    let (gateway, port) = start_with_tls(&config(
        &upstream,
        &[certificate("a", &old, &["a.example"])],
    ));
    assert_eq!(handshake(port, Some("a.example")).0, "a.example old");

    // Load: fresh handshakes and requests on 4 threads until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicUsize::new(0));
    let mut load = Vec::new();
    for _ in 0..4 {
        let (stop, served) = (stop.clone(), served.clone());
        load.push(tokio::task::spawn_blocking(move || {
            let mut failures = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                match get_over_tls(port, "a.example", "/svc/x") {
                    Ok((_, 200)) => {
                        served.fetch_add(1, Ordering::Relaxed);
                    }
                    other => failures.push(format!("{other:?}")),
                }
            }
            failures
        }));
    }
    let before = served.load(Ordering::Relaxed);

    gateway.replace_config(&config(
        &upstream,
        &[certificate("a", &new, &["a.example"])],
    ));
    let rotated = Instant::now();
    let seen = tokio::task::spawn_blocking(move || {
        while rotated.elapsed() < Duration::from_secs(5) {
            if handshake(port, Some("a.example")).0 == "a.example new" {
                return Some(rotated.elapsed());
            }
        }
        None
    })
    .await
    .unwrap()
    .expect("the new certificate was served within 5 s");
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let mut failures = Vec::new();
    for task in load {
        failures.extend(task.await.unwrap());
    }

    assert!(
        seen <= Duration::from_secs(1),
        "new handshakes got the new certificate after {seen:?}"
    );
    assert!(failures.is_empty(), "failed requests: {failures:?}");
    assert!(
        served.load(Ordering::Relaxed) > before,
        "requests were served during the rotation"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_only_route_answers_cleartext_with_426_or_its_redirect() {
    let upstream = Upstream::start("a").await;
    let pair = self_signed("a.example", &["a.example"]);
    let config = format!(
        "_format_version: \"3.0\"\nservices:\n  - name: svc\n    url: http://{}\n    routes:\n      - {{name: secure, paths: [/secure], protocols: [https]}}\n      - {{name: moved, paths: [/moved], protocols: [https], https_redirect_status_code: 308}}\n      - {{name: both, paths: [/both]}}\ncertificates:\n{}",
        upstream.target(),
        certificate("a", &pair, &["a.example"])
    );
    let (gateway, tls_port) = start_with_tls(&config);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let response = client.get(gateway.url("/secure/x")).send().await.unwrap();
    assert_eq!(response.status(), 426);
    assert_eq!(response.headers()["upgrade"], "TLS/1.2, HTTP/1.1");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["message"], "Please use HTTPS protocol");

    let response = client
        .get(gateway.url("/moved/x?page=2"))
        .header("host", format!("a.example:{}", gateway.port))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 308);
    assert_eq!(
        response.headers()["location"],
        format!("https://a.example:{tls_port}/moved/x?page=2")
    );

    let (status, _) = get_json(&client, &gateway.url("/both/x")).await;
    assert_eq!(status, 200, "a route for both protocols serves cleartext");
    assert_eq!(
        upstream.hits(),
        1,
        "nothing of the refused requests reached the upstream"
    );

    let output = tokio::process::Command::new("curl")
        .args(["-sk", "-o", "/dev/null", "-w", "%{http_code}", "--resolve"])
        .arg(format!("a.example:{tls_port}:127.0.0.1"))
        .arg(format!("https://a.example:{tls_port}/secure/x"))
        .output()
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "200",
        "served over TLS"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_listener_without_certificates_serves_a_self_signed_one_for_localhost() {
    let upstream = Upstream::start("a").await;
    let config = format!(
        "_format_version: \"3.0\"\nservices:\n  - name: svc\n    url: http://{}\n    routes: [{{name: svc, paths: [/svc]}}]\n",
        upstream.target()
    );
    let (gateway, port) = start_with_tls(&config);
    assert!(
        gateway.process.logs().contains("self-signed"),
        "the operator is told: {}",
        gateway.process.logs()
    );
    tokio::task::spawn_blocking(move || {
        assert_eq!(handshake(port, Some("localhost")).0, "localhost");
        assert_eq!(handshake(port, None).0, "localhost");
        assert_eq!(get_over_tls(port, "localhost", "/svc/x").unwrap().1, 200);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_lists_certificates_and_snis_without_keys_and_counts_handshakes() {
    let upstream = Upstream::start("a").await;
    let exact = self_signed("a.example", &["a.example"]);
    let wildcard = self_signed("*.wild.example", &["*.wild.example"]);
    let (gateway, port) = start_with_tls(&config(
        &upstream,
        &[
            certificate("exact", &exact, &["a.example"]),
            certificate("wildcard", &wildcard, &["*.wild.example"]),
        ],
    ));
    let client = reqwest::Client::new();

    let (status, body) = get_json(&client, &gateway.admin_url("/certificates")).await;
    assert_eq!(status, 200);
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["id"], "exact");
    assert_eq!(data[0]["snis"], serde_json::json!(["a.example"]));
    assert_eq!(data[0]["cert"], exact.cert);
    assert_eq!(data[0]["key"], "<redacted>");
    assert!(
        data[0]["expires"]
            .as_str()
            .is_some_and(|date| date.contains("GMT"))
    );

    let (status, body) = get_json(&client, &gateway.admin_url("/snis")).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|sni| sni["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a.example", "*.wild.example"]);
    let (status, body) = get_json(&client, &gateway.admin_url("/snis/*.wild.example")).await;
    assert_eq!(
        (status, &body["certificate"]["id"]),
        (200, &serde_json::json!("wildcard"))
    );
    let (status, _) = get_json(&client, &gateway.admin_url("/certificates/nope")).await;
    assert_eq!(status, 404);

    let config = client
        .get(gateway.admin_url("/config"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!config.contains("PRIVATE KEY"), "GET /config shows no key");
    let all = [&body.to_string(), &config].map(|text| text.contains(exact.key.trim()));
    assert_eq!(all, [false, false]);

    tokio::task::spawn_blocking(move || handshake(port, Some("a.example")))
        .await
        .unwrap();
    // The server completes its side after the client has (TLS 1.3: the client's Finished comes
    // last), so the counter is waited for.
    let completed = |metrics: &str| {
        metrics
            .lines()
            .find(|line| line.starts_with("gateway_tls_handshakes_total{result=\"completed\"}"))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|count| count.parse::<u64>().ok())
            .unwrap_or(0)
    };
    testkit::wait_until_async(
        "a completed handshake counted",
        Duration::from_secs(5),
        || {
            let (client, gateway) = (&client, &gateway);
            async move { completed(&gateway.metrics(client).await) >= 1 }
        },
    )
    .await
    .unwrap_or_else(|err| panic!("{err}"));
}

/// A certificate for `common_name` (with `names` as DNS SANs), signed by `issuer` (self-signed
/// when `None`); a CA when `is_ca`.
fn issue(
    common_name: &str,
    names: &[&str],
    issuer: Option<(&X509, &PKey<openssl::pkey::Private>)>,
    is_ca: bool,
) -> (X509, PKey<openssl::pkey::Private>) {
    use openssl::x509::extension::BasicConstraints;
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, common_name)
        .unwrap();
    let name = name.build();
    let mut builder = X509::builder().unwrap();
    builder.set_version(2).unwrap();
    let mut serial = BigNum::new().unwrap();
    serial.rand(64, MsbOption::MAYBE_ZERO, false).unwrap();
    builder
        .set_serial_number(&serial.to_asn1_integer().unwrap())
        .unwrap();
    builder.set_subject_name(&name).unwrap();
    builder
        .set_issuer_name(issuer.map_or(&*name, |(cert, _)| cert.subject_name()))
        .unwrap();
    builder.set_pubkey(&key).unwrap();
    builder
        .set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    builder
        .set_not_after(&Asn1Time::days_from_now(2).unwrap())
        .unwrap();
    if is_ca {
        builder
            .append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
    }
    if !names.is_empty() {
        let mut san = SubjectAlternativeName::new();
        for dns in names {
            san.dns(dns);
        }
        let san = san
            .build(&builder.x509v3_context(issuer.map(|(cert, _)| &**cert), None))
            .unwrap();
        builder.append_extension(san).unwrap();
    }
    let signer = issuer.map_or(&key, |(_, key)| key);
    builder.sign(signer, MessageDigest::sha256()).unwrap();
    (builder.build(), key)
}

/// A client CA and the gateway's client certificate issued by it (common name `the gateway`).
fn client_identity() -> (X509, X509, PKey<openssl::pkey::Private>) {
    let (client_ca, client_ca_key) = issue("client CA", &[], None, true);
    let (client, client_key) = issue(
        "the gateway",
        &[],
        Some((&client_ca, &client_ca_key)),
        false,
    );
    (client_ca, client, client_key)
}

fn pem(cert: &X509) -> String {
    String::from_utf8(cert.to_pem().unwrap()).unwrap()
}

/// An HTTPS upstream on 127.0.0.1 serving `cert`/`key`; with `client_ca` it requires a client
/// certificate issued by it. Every request is answered `200` with the client certificate's common
/// name (or `anonymous`), on kept-alive connections; the counter counts the answers.
async fn https_upstream(
    cert: &X509,
    key: &PKey<openssl::pkey::Private>,
    client_ca: Option<&X509>,
) -> (SocketAddr, Arc<AtomicUsize>) {
    use openssl::ssl::{SslAcceptor, SslVerifyMode};
    use pingora::tls::tokio_ssl::SslStream;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
    acceptor.set_certificate(cert).unwrap();
    acceptor.set_private_key(key).unwrap();
    if let Some(ca) = client_ca {
        acceptor.cert_store_mut().add_cert(ca.clone()).unwrap();
        acceptor.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
    }
    let acceptor = Arc::new(acceptor.build());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let answered = Arc::new(AtomicUsize::new(0));
    let counter = answered.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                let ssl = openssl::ssl::Ssl::new(acceptor.context()).unwrap();
                let mut stream = SslStream::new(ssl, tcp).unwrap();
                if std::pin::Pin::new(&mut stream).accept().await.is_err() {
                    return;
                }
                let who = stream
                    .ssl()
                    .peer_certificate()
                    .and_then(|cert| {
                        let entry = cert.subject_name().entries_by_nid(Nid::COMMONNAME).next()?;
                        String::from_utf8(entry.data().as_slice().to_vec()).ok()
                    })
                    .unwrap_or_else(|| "anonymous".to_owned());
                let mut received = Vec::new();
                let mut buffer = [0u8; 4096];
                loop {
                    while let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
                        received.drain(..end + 4);
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{who}",
                            who.len()
                        );
                        if stream.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                        counter.fetch_add(1, Ordering::SeqCst);
                    }
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => received.extend_from_slice(&buffer[..n]),
                    }
                }
            });
        }
    });
    (addr, answered)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_upstreams_are_verified_against_their_ca_certificates_and_get_client_certificates() {
    let (ca, ca_key) = issue("test CA", &[], None, true);
    let (server, server_key) = issue("localhost", &["localhost"], Some((&ca, &ca_key)), false);
    let (client_ca, client, client_key) = client_identity();
    let (open, _) = https_upstream(&server, &server_key, None).await;
    let (mutual, _) = https_upstream(&server, &server_key, Some(&client_ca)).await;

    let service = |name: &str, upstream: &str, fields: &str| {
        format!(
            "  - name: {name}\n    url: https://{upstream}\n    retries: 0\n{fields}    routes: [{{name: {name}, paths: [/{name}]}}]\n"
        )
    };
    let upstream = |name: &str, addr: SocketAddr, host: &str| {
        format!(
            "  - name: {name}\n    host_header: {host}\n    targets: [{{target: \"{addr}\"}}]\n"
        )
    };
    let client_pair = Pair {
        cert: pem(&client),
        key: String::from_utf8(client_key.private_key_to_pem_pkcs8().unwrap()).unwrap(),
    };
    let config = format!(
        "_format_version: \"3.0\"\nservices:\n{}{}{}{}{}{}upstreams:\n{}{}{}ca_certificates:\n  - id: test-ca\n    cert: |\n{}certificates:\n{}",
        service(
            "verified",
            "open",
            "    tls_verify: true\n    ca_certificates: [test-ca]\n"
        ),
        service("unknown-ca", "open", "    tls_verify: true\n"),
        service("unverified", "open", ""),
        service(
            "wrong-name",
            "misnamed",
            "    tls_verify: true\n    ca_certificates: [test-ca]\n"
        ),
        service(
            "no-client-cert",
            "mutual",
            "    tls_verify: true\n    ca_certificates: [test-ca]\n"
        ),
        service(
            "client-cert",
            "mutual",
            "    tls_verify: true\n    ca_certificates: [test-ca]\n    client_certificate: {id: client}\n"
        ),
        upstream("open", open, "localhost"),
        upstream("misnamed", open, "other.example"),
        upstream("mutual", mutual, "localhost"),
        block(&pem(&ca), 6),
        certificate("client", &client_pair, &[]),
    );
    let gateway = Gateway::start(&config);
    let http = reqwest::Client::new();
    for (path, status, body) in [
        ("/verified/x", 200, "anonymous"),
        ("/unknown-ca/x", 502, ""),
        ("/unverified/x", 200, "anonymous"),
        ("/wrong-name/x", 502, ""),
        ("/no-client-cert/x", 502, ""),
        ("/client-cert/x", 200, "the gateway"),
        ("/client-cert/again", 200, "the gateway"),
    ] {
        let response = http.get(gateway.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{path}");
        if status == 200 {
            assert_eq!(response.text().await.unwrap(), body, "{path}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_probes_verify_targets_against_their_services_cas_and_send_client_certificates() {
    let (ca, ca_key) = issue("test CA", &[], None, true);
    let (other_ca, other_ca_key) = issue("other CA", &[], None, true);
    let (server, server_key) = issue("localhost", &["localhost"], Some((&ca, &ca_key)), false);
    let (stranger, stranger_key) = issue(
        "localhost",
        &["localhost"],
        Some((&other_ca, &other_ca_key)),
        false,
    );
    let (client_ca, client, client_key) = client_identity();
    let (trusted, trusted_answers) = https_upstream(&server, &server_key, None).await;
    let (untrusted, _) = https_upstream(&stranger, &stranger_key, None).await;
    let (unverified, unverified_answers) = https_upstream(&stranger, &stranger_key, None).await;
    let (mutual, mutual_answers) = https_upstream(&server, &server_key, Some(&client_ca)).await;

    // Probes every 100 ms; one failed probe takes a target out, one success brings it back.
    let upstream = |name: &str, addr: SocketAddr, verify: bool| {
        format!(
            "  - name: {name}\n    host_header: localhost\n    healthchecks:\n      active:\n        \
             type: https\n        https_verify_certificate: {verify}\n        http_path: /health\n        \
             timeout: 1\n        healthy: {{interval: 0.1, successes: 1}}\n        \
             unhealthy: {{interval: 0.1, tcp_failures: 1, http_failures: 1, timeouts: 1}}\n    \
             targets: [{{target: \"{addr}\"}}]\n"
        )
    };
    let service = |name: &str, client: &str| {
        format!(
            "  - name: {name}\n    url: https://{name}\n    tls_verify: true\n    \
             ca_certificates: [test-ca]\n{client}    routes: [{{name: {name}, paths: [/{name}]}}]\n"
        )
    };
    let client_pair = Pair {
        cert: pem(&client),
        key: String::from_utf8(client_key.private_key_to_pem_pkcs8().unwrap()).unwrap(),
    };
    let config = format!(
        "_format_version: \"3.0\"\nservices:\n{}{}{}{}upstreams:\n{}{}{}{}ca_certificates:\n  - id: test-ca\n    cert: |\n{}certificates:\n{}",
        service("trusted", ""),
        service("untrusted", ""),
        service("unverified", ""),
        service("mutual", "    client_certificate: {id: client}\n"),
        upstream("trusted", trusted, true),
        upstream("untrusted", untrusted, true),
        upstream("unverified", unverified, false),
        upstream("mutual", mutual, true),
        block(&pem(&ca), 6),
        certificate("client", &client_pair, &[]),
    );
    let gateway = Gateway::start(&config);
    let http = reqwest::Client::new();
    let health = |name: &'static str| {
        let http = http.clone();
        let url = gateway.admin_url(&format!("/upstreams/{name}/health"));
        async move {
            let (status, body) = get_json(&http, &url).await;
            assert_eq!(status, 200, "{body}");
            body["data"][0]["health"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        }
    };
    // A chain that reaches no CA the services trust fails its handshake: a TCP failure.
    testkit::wait_until_async(
        "untrusted to be UNHEALTHY",
        Duration::from_secs(5),
        || async { health("untrusted").await == "UNHEALTHY" },
    )
    .await
    .unwrap_or_else(|err| panic!("{err}\n{}", gateway.process.logs()));
    // The others answered several probes each and are healthy.
    for (name, answers) in [
        ("trusted", &trusted_answers),
        ("unverified", &unverified_answers),
        ("mutual", &mutual_answers),
    ] {
        testkit::wait_until_async(
            &format!("{name} to answer 3 probes"),
            Duration::from_secs(5),
            || async { answers.load(Ordering::SeqCst) >= 3 },
        )
        .await
        .unwrap_or_else(|err| panic!("{err}\n{}", gateway.process.logs()));
        assert_eq!(health(name).await, "HEALTHY", "{name}");
    }
    let response = http.get(gateway.url("/untrusted/x")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 503, "no healthy target left");
    let response = http.get(gateway.url("/mutual/x")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.text().await.unwrap(), "the gateway");
}

/// `openssl s_client` to the TLS listener with `args`, sending one request that closes the
/// connection; its output. Ends when the gateway closes (`-ign_eof`), after the session tickets.
async fn s_client(port: u16, args: &[&str]) -> String {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-servername",
            "localhost",
            "-ign_eof",
        ])
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("openssl is installed");
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"GET /svc/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    drop(stdin);
    let output = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .expect("s_client ended within 10 s")
        .unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cert_alt_serves_ecdsa_and_rsa_clients_each_the_key_type_they_accept() {
    let upstream = Upstream::start("a").await;
    let rsa = self_signed_with(
        "localhost rsa",
        &["localhost"],
        PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap(),
    );
    let ecdsa = self_signed("localhost ecdsa", &["localhost"]);
    let entry = format!(
        "{}    cert_alt: |\n{}    key_alt: |\n{}",
        certificate("both", &rsa, &["localhost"]),
        block(&ecdsa.cert, 6),
        block(&ecdsa.key, 6)
    );
    let (_gateway, port) = start_with_tls(&config(&upstream, &[entry]));
    for (sigalgs, expected) in [
        ("rsa_pss_rsae_sha256", "CN = localhost rsa"),
        ("ecdsa_secp256r1_sha256", "CN = localhost ecdsa"),
    ] {
        let output = s_client(port, &["-sigalgs", sigalgs]).await;
        let subject = output
            .lines()
            .find(|line| line.starts_with("subject="))
            .unwrap_or_else(|| panic!("no certificate with {sigalgs}:\n{output}"));
        assert!(subject.ends_with(expected), "{sigalgs}: {subject}");
        assert!(output.contains("HTTP/1.1 200"), "{sigalgs}:\n{output}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_1_2_and_1_3_handshake_and_sessions_resume() {
    let upstream = Upstream::start("a").await;
    let pair = self_signed("localhost", &["localhost"]);
    let (_gateway, port) = start_with_tls(&config(
        &upstream,
        &[certificate("a", &pair, &["localhost"])],
    ));
    let dir = tempfile::tempdir().unwrap();
    let session = dir.path().join("session").display().to_string();

    for (version, name) in [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")] {
        let first = s_client(port, &[version, "-sess_out", &session]).await;
        assert!(first.contains(&format!("New, {name}")), "{first}");
        assert!(first.contains("HTTP/1.1 200 OK"), "{first}");
        let second = s_client(port, &[version, "-sess_in", &session]).await;
        assert!(
            second.contains(&format!("Reused, {name}")),
            "the session resumed: {second}"
        );
        assert!(second.contains("HTTP/1.1 200 OK"), "{second}");
    }
    let old = s_client(port, &["-tls1_1"]).await;
    assert!(!old.contains("HTTP/1.1 200"), "TLS 1.1 is refused: {old}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_answers_arrive_whole_over_https_with_http1_and_http2() {
    const SIZE: usize = 1024 * 1024 + 7;
    let upstream = Upstream::start("a").await;
    let pair = self_signed("a.example", &["a.example"]);
    let (_gateway, port) = start_with_tls(&config(
        &upstream,
        &[certificate("a", &pair, &["a.example"])],
    ));

    for flag in ["--http1.1", "--http2"] {
        let output = tokio::process::Command::new("curl")
            .args(["-sk", flag, "--resolve"])
            .arg(format!("a.example:{port}:127.0.0.1"))
            .arg(format!("https://a.example:{port}/svc/big/{SIZE}"))
            .output()
            .await
            .expect("curl is installed");
        assert!(output.status.success(), "{flag}: curl failed");
        let body = output.stdout;
        assert_eq!(body.len(), SIZE, "{flag}");
        let first_wrong = (body.iter().enumerate()).find(|(i, byte)| **byte != big_body_byte(*i));
        assert_eq!(first_wrong, None, "{flag}: the body arrived altered");
    }
}

/// A chunked answer's first chunk reaches a TLS client while the upstream still holds the rest: the
/// upstream sends its last chunk only once the client has read the first (a gateway that kept the
/// first chunk back until more came would leave both waiting).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_chunk_reaches_a_tls_client_before_the_answer_ends() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap();
    let (first_read, first_read_seen) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && stream.read_exact(&mut byte).await.is_ok() {
            head.push(byte[0]);
        }
        let first = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n6\r\nfirst \r\n";
        stream.write_all(first.as_bytes()).await.unwrap();
        let _ = first_read_seen.await;
        stream.write_all(b"4\r\nlast\r\n0\r\n\r\n").await.unwrap();
    });
    let pair = self_signed("a.example", &["a.example"]);
    let (_gateway, port) = start_with_tls(&format!(
        "_format_version: \"3.0\"\nservices:\n  - name: svc\n    url: http://{upstream}\n    routes: [{{name: svc, paths: [/svc]}}]\ncertificates:\n{}",
        certificate("a", &pair, &["a.example"])
    ));

    let client = tokio::task::spawn_blocking(move || {
        let (_, mut stream) = handshake(port, Some("a.example"));
        stream
            .write_all(b"GET /svc/stream HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut received = Vec::new();
        let mut buffer = [0u8; 4096];
        // The read timeout (5 s, set by `handshake`) ends a wait for a chunk that never comes.
        while !String::from_utf8_lossy(&received).contains("first ") {
            let read = stream
                .read(&mut buffer)
                .expect("the first chunk arrives while the upstream holds the last");
            assert!(read > 0, "closed before the first chunk: {received:?}");
            received.extend_from_slice(&buffer[..read]);
        }
        first_read.send(()).unwrap();
        let _ = stream.read_to_end(&mut received);
        String::from_utf8_lossy(&received).into_owned()
    });
    let answer = client.await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("last"), "the rest followed: {answer}");
}
