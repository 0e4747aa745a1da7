//! The server under load: its `--url`, checked to be a loopback address so
//! the load generator can never be pointed at someone else's machine.

use std::net::IpAddr;

use reqwest::Url;

use super::Error;

/// Where the server listens: its GraphQL endpoint over HTTP and WebSocket.
#[derive(Debug, Clone)]
pub struct Target {
    /// `http://HOST:PORT/graphql`.
    pub graphql: Url,
    /// `ws://HOST:PORT/graphql/ws`.
    pub ws: String,
}

impl Target {
    /// Parses `http://HOST[:PORT]`; refuses any host that is not loopback
    /// (`127.0.0.0/8`, `::1`, `localhost`) and any scheme but `http`.
    pub fn parse(url: &str) -> Result<Self, Error> {
        let base = Url::parse(url).map_err(|e| Error::BadUrl(format!("{url}: {e}")))?;
        if base.scheme() != "http" {
            return Err(Error::BadUrl(format!("{url}: only http:// is supported")));
        }
        // IPv6 hosts come bracketed (`[::1]`).
        let host = base.host_str().unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if !loopback {
            return Err(Error::NotLoopback(url.to_owned()));
        }
        let graphql = base
            .join("/graphql")
            .map_err(|e| Error::BadUrl(format!("{url}: {e}")))?;
        let mut ws = base
            .join("/graphql/ws")
            .map_err(|e| Error::BadUrl(format!("{url}: {e}")))?;
        // Cannot fail: http and ws are both special schemes.
        let _ = ws.set_scheme("ws");
        Ok(Self {
            graphql,
            ws: ws.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_urls_are_accepted_and_mapped_to_both_endpoints() {
        for url in [
            "http://127.0.0.1:8080",
            "http://localhost:8080/",
            "http://[::1]:8080",
        ] {
            let target = Target::parse(url).expect(url);
            assert!(target.graphql.as_str().ends_with(":8080/graphql"), "{url}");
            assert!(target.ws.starts_with("ws://"), "{url}");
            assert!(target.ws.ends_with(":8080/graphql/ws"), "{url}");
        }
    }

    #[test]
    fn hosts_other_than_loopback_are_refused() {
        for url in [
            "http://10.0.0.1:8080",
            "http://example.com",
            "http://localhost.example.com",
            "http://0.0.0.0:8080",
        ] {
            assert!(
                matches!(Target::parse(url), Err(Error::NotLoopback(_))),
                "{url}"
            );
        }
        assert!(matches!(
            Target::parse("https://127.0.0.1"),
            Err(Error::BadUrl(_))
        ));
    }
}
