//! The client verbs of `geo`: keygen, register, login, trust, pay, balance, history and watch.
//!
//! Every command prints the hub's JSON answer on standard output (pretty; `watch` prints one
//! compact JSON object per line). Failures print `error: CODE: message` on standard error and the
//! process exits with status 1.

use std::path::{Path, PathBuf};

use anyhow::Context;
use futures_util::StreamExt;
use geo_protocol::signing::SignatureError;
use geo_protocol::wire::auth::{ChallengeRequest, LoginRequest, RefreshRequest, TokenPair};
use geo_protocol::wire::balance::GetBalance;
use geo_protocol::wire::participants::{GetMe, ParticipantCreateRequest, ParticipantType};
use geo_protocol::wire::payments::{PaymentCreateRequest, PaymentStatus, PaymentsQuery};
use geo_protocol::wire::trustlines::{
    trustline_path, TrustLineCloseRequest, TrustLineCreateRequest, TrustLinePolicy, TrustLineUpdateRequest,
};
use geo_protocol::wire::{Endpoint, SignedBody, WireAmount};
use geo_protocol::{EquivalentCode, Keypair, Pid};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::http::{CallError, HttpClient, HubUrl};
use super::keys;
use super::session::{self, Session};

/// Options shared by every client command.
#[derive(Debug, Clone, clap::Args)]
pub struct Global {
    /// Base URL of the hub.
    #[arg(long, env = "GEO_HUB", default_value = "http://127.0.0.1:8080", global = true)]
    pub hub: String,
    /// Key file [default: $HOME/.geo/key.json, or ./geo-key.json without HOME]. The session
    /// (tokens) is kept next to it as <name>.session.json.
    #[arg(long, env = "GEO_KEY", global = true)]
    pub key: Option<PathBuf>,
}

impl Global {
    /// The key file to use.
    pub fn key_path(&self) -> PathBuf {
        self.key.clone().unwrap_or_else(keys::default_key_path)
    }
}

/// `geo keygen`.
#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Where to write the key (default: the --key file).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `geo register`.
#[derive(Debug, clap::Args)]
pub struct RegisterArgs {
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// Participant type: person, business or hub.
    #[arg(long = "type", default_value = "person")]
    pub kind: String,
}

/// `geo trust ...`.
#[derive(Debug, clap::Subcommand)]
pub enum TrustCmd {
    /// Open a trust line: you trust --to (they may owe you up to --limit).
    Open {
        /// PID of the participant you trust.
        #[arg(long)]
        to: String,
        /// Equivalent code, e.g. UAH.
        #[arg(long)]
        equivalent: String,
        /// Credit limit, a decimal string such as 100 or 100.50.
        #[arg(long)]
        limit: String,
        /// Policy object as JSON, e.g. '{"can_be_intermediate": false}'.
        #[arg(long)]
        policy: Option<String>,
    },
    /// Change the limit and/or the policy of one of your trust lines.
    Update {
        /// Trust line id.
        id: String,
        /// New limit.
        #[arg(long)]
        limit: Option<String>,
        /// New policy as JSON.
        #[arg(long)]
        policy: Option<String>,
    },
    /// Close one of your trust lines (at zero debt).
    Close {
        /// Trust line id.
        id: String,
    },
}

/// `geo pay`.
#[derive(Debug, clap::Args)]
pub struct PayArgs {
    /// PID of the payee.
    #[arg(long)]
    pub to: String,
    /// Equivalent code, e.g. UAH.
    #[arg(long)]
    pub equivalent: String,
    /// Amount, a decimal string such as 10.50.
    #[arg(long, allow_hyphen_values = true)]
    pub amount: String,
    /// Idempotency key (default: a random UUID). Resending the same id pays once.
    #[arg(long)]
    pub tx_id: Option<String>,
    /// Free text stored with the payment.
    #[arg(long)]
    pub description: Option<String>,
}

/// `geo history`.
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// How many payments to show (newest first, 1-200).
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
}

/// A participant's view of one hub: HTTP client, key and stored session.
pub struct Client {
    http: HttpClient,
    key: Keypair,
    session_path: PathBuf,
    session: Option<Session>,
}

fn parse_policy(text: Option<&str>) -> anyhow::Result<Option<TrustLinePolicy>> {
    text.map(|t| serde_json::from_str::<TrustLinePolicy>(t).context("--policy is not a JSON object"))
        .transpose()
}

/// A PID argument, refused as the hub would refuse it.
fn pid_arg(text: &str, field: &str) -> anyhow::Result<Pid> {
    Pid::parse(text).map_err(|e| anyhow::anyhow!("VALIDATION_ERROR: {field}: {e}"))
}

/// An equivalent code argument, refused as the hub would refuse it.
fn code_arg(text: &str, field: &str) -> anyhow::Result<EquivalentCode> {
    EquivalentCode::new(text).map_err(|e| anyhow::anyhow!("VALIDATION_ERROR: {field}: {e}"))
}

/// An amount argument (a decimal string), refused as the hub would refuse it.
fn amount_arg(text: &str, field: &str) -> anyhow::Result<WireAmount> {
    WireAmount::parse(text).map_err(|e| anyhow::anyhow!("INVALID_AMOUNT: {field}: {e}"))
}

fn signing_error(e: SignatureError) -> anyhow::Error {
    anyhow::anyhow!("signing the request: {e}")
}

fn print_json(v: &Value) {
    match serde_json::to_string_pretty(v) {
        Ok(s) => println!("{s}"),
        Err(_) => println!("{v}"),
    }
}

impl Client {
    /// A client of `hub` acting with the key stored at `key_path`.
    pub fn open(hub: HubUrl, key_path: &Path) -> anyhow::Result<Client> {
        let key = keys::load(key_path)?;
        let session_path = session::session_path(key_path);
        let pid = key.pid();
        let session = session::load(&session_path).filter(|s| s.is_for(hub.base(), pid.as_str()));
        Ok(Client {
            http: HttpClient::new(hub),
            key,
            session_path,
            session,
        })
    }

    /// The HTTP client.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    fn store(&mut self, tokens: &TokenPair) -> anyhow::Result<()> {
        let s = Session {
            hub: self.http.hub().base().to_owned(),
            pid: self.key.pid().as_str().to_owned(),
            access_token: tokens.access_token.clone(),
            refresh_token: tokens.refresh_token.clone(),
            expires_at: Some(session::now_unix() + tokens.expires_in),
        };
        session::save(&self.session_path, &s)?;
        self.session = Some(s);
        Ok(())
    }

    /// Challenge-response login: signs the challenge locally and stores the tokens in the
    /// session file. Returns the hub's token answer, typed and as sent.
    pub async fn login(&mut self) -> anyhow::Result<(TokenPair, Value)> {
        let (challenge, _) = self
            .http
            .send(
                &ChallengeRequest::full_path(),
                None,
                &ChallengeRequest { pid: self.key.pid() },
            )
            .await?;
        let login = LoginRequest::signed(&self.key, challenge.challenge);
        let (tokens, raw) = self.http.send(&LoginRequest::full_path(), None, &login).await?;
        self.store(&tokens)?;
        Ok((tokens, raw))
    }

    /// Gets a new token pair with the refresh token; logs in again with the key when the
    /// refresh token is no longer accepted.
    async fn refresh(&mut self) -> anyhow::Result<()> {
        let Some(refresh_token) = self.session.as_ref().map(|s| s.refresh_token.clone()) else {
            self.login().await?;
            return Ok(());
        };
        let answer = self
            .http
            .send(
                &RefreshRequest::full_path(),
                None,
                &RefreshRequest { refresh_token },
            )
            .await;
        match answer {
            Ok((tokens, _)) => self.store(&tokens),
            Err(CallError::Api { status: 401, .. }) => self.login().await.map(|_| ()),
            Err(e) => Err(e.into()),
        }
    }

    /// A valid-looking access token: the stored one, or a fresh login.
    pub async fn token(&mut self) -> anyhow::Result<String> {
        match &self.session {
            None => {
                self.login().await?;
            }
            Some(s) if s.expires_at.is_some_and(|t| t <= session::now_unix()) => self.refresh().await?,
            Some(_) => {}
        }
        self.session
            .as_ref()
            .map(|s| s.access_token.clone())
            .ok_or_else(|| anyhow::anyhow!("no session"))
    }

    /// An authenticated call of endpoint `E` at `path`: the typed answer and the answer as the
    /// hub sent it. On `401 TOKEN_EXPIRED` the token pair is refreshed and the call sent again
    /// once; on another 401 (e.g. the hub restarted and forgot its tokens) the client logs in
    /// again with its key and retries once.
    pub async fn send<E>(&mut self, path: &str, req: &E) -> anyhow::Result<(E::Response, Value)>
    where
        E: Endpoint + Serialize,
        E::Response: DeserializeOwned,
    {
        let token = self.token().await?;
        match self.http.send(path, Some(&token), req).await {
            Err(CallError::Api {
                status: 401, code, ..
            }) if code == "TOKEN_EXPIRED" || code == "UNAUTHORIZED" => {
                if code == "TOKEN_EXPIRED" {
                    self.refresh().await?;
                } else {
                    self.login().await?;
                }
                let token = self.token().await?;
                Ok(self.http.send(path, Some(&token), req).await?)
            }
            other => Ok(other?),
        }
    }
}

/// `geo keygen`: creates a key file (mode 0600), never overwriting one.
pub fn keygen(global: &Global, args: &KeygenArgs) -> anyhow::Result<()> {
    let path = args.out.clone().unwrap_or_else(|| global.key_path());
    let (_, file) = keys::generate(&path)?;
    print_json(&json!({
        "pid": file.pid,
        "public_key": file.public_key,
        "key_file": path.display().to_string(),
    }));
    Ok(())
}

/// `geo register`: registers the key's participant (the request is signed, no token needed).
pub async fn register(global: &Global, args: &RegisterArgs) -> anyhow::Result<()> {
    let hub = HubUrl::parse(&global.hub)?;
    let key = keys::load(&global.key_path())?;
    let kind = ParticipantType::deserialize(Value::String(args.kind.clone()))
        .map_err(|_| anyhow::anyhow!("VALIDATION_ERROR: type must be person, business or hub"))?;
    let mut body = ParticipantCreateRequest {
        display_name: args.name.clone(),
        kind: Some(kind),
        public_key: key.public().to_base64(),
        profile: None,
        signature: String::new(),
    };
    body.sign(&key).map_err(signing_error)?;
    let http = HttpClient::new(hub);
    let (_, answer) = http
        .send(&ParticipantCreateRequest::full_path(), None, &body)
        .await?;
    print_json(&answer);
    Ok(())
}

/// `geo login`: logs in and stores the tokens next to the key file.
pub async fn login(global: &Global) -> anyhow::Result<()> {
    let mut client = Client::open(HubUrl::parse(&global.hub)?, &global.key_path())?;
    let (tokens, raw) = client.login().await?;
    print_json(&json!({
        "pid": client.key.pid().as_str(),
        "expires_in": tokens.expires_in,
        "participant": raw.get("participant"),
        "session_file": client.session_path.display().to_string(),
    }));
    Ok(())
}

/// `geo trust open|update|close`.
pub async fn trust(global: &Global, cmd: &TrustCmd) -> anyhow::Result<()> {
    let mut client = Client::open(HubUrl::parse(&global.hub)?, &global.key_path())?;
    let answer = match cmd {
        TrustCmd::Open {
            to,
            equivalent,
            limit,
            policy,
        } => {
            let mut body = TrustLineCreateRequest {
                to: pid_arg(to, "to")?,
                equivalent: code_arg(equivalent, "equivalent")?,
                limit: amount_arg(limit, "limit")?,
                policy: parse_policy(policy.as_deref())?,
                signature: String::new(),
            };
            body.sign(&client.key).map_err(signing_error)?;
            client.send(&TrustLineCreateRequest::full_path(), &body).await?.1
        }
        TrustCmd::Update { id, limit, policy } => {
            if limit.is_none() && policy.is_none() {
                anyhow::bail!("nothing to update: give --limit and/or --policy");
            }
            let mut body = TrustLineUpdateRequest {
                limit: limit.as_deref().map(|l| amount_arg(l, "limit")).transpose()?,
                policy: parse_policy(policy.as_deref())?,
                signature: String::new(),
            };
            body.sign(id, &client.key).map_err(signing_error)?;
            client.send(&trustline_path(id), &body).await?.1
        }
        TrustCmd::Close { id } => {
            let body = TrustLineCloseRequest::signed(id, &client.key).map_err(signing_error)?;
            client.send(&trustline_path(id), &body).await?.1
        }
    };
    print_json(&answer);
    Ok(())
}

/// `geo pay`: a signed payment; an `ABORTED` outcome is printed and reported as a failure.
pub async fn pay(global: &Global, args: &PayArgs) -> anyhow::Result<()> {
    let mut client = Client::open(HubUrl::parse(&global.hub)?, &global.key_path())?;
    let tx_id = args
        .tx_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let mut body = PaymentCreateRequest {
        tx_id: tx_id.clone(),
        to: pid_arg(&args.to, "to")?,
        equivalent: code_arg(&args.equivalent, "equivalent")?,
        amount: amount_arg(&args.amount, "amount")?,
        description: args.description.clone(),
        constraints: None,
        signature: String::new(),
    };
    body.sign(&client.key).map_err(signing_error)?;
    let (result, answer) = client.send(&PaymentCreateRequest::full_path(), &body).await?;
    print_json(&answer);
    if result.status == PaymentStatus::Aborted {
        let (code, message) = result
            .error
            .as_ref()
            .map_or(("", ""), |e| (e.code.as_str(), e.message.as_str()));
        anyhow::bail!("payment {tx_id} aborted: {code}: {message}");
    }
    Ok(())
}

/// `geo balance`.
pub async fn balance(global: &Global) -> anyhow::Result<()> {
    let mut client = Client::open(HubUrl::parse(&global.hub)?, &global.key_path())?;
    let (_, answer) = client.send(&GetBalance::full_path(), &GetBalance).await?;
    print_json(&answer);
    Ok(())
}

/// `geo history`.
pub async fn history(global: &Global, args: &HistoryArgs) -> anyhow::Result<()> {
    let mut client = Client::open(HubUrl::parse(&global.hub)?, &global.key_path())?;
    let query = PaymentsQuery {
        per_page: Some(args.limit.clamp(1, 200)),
        ..PaymentsQuery::default()
    };
    let path = format!(
        "{}?per_page={}",
        PaymentsQuery::full_path(),
        query.per_page.unwrap_or(20)
    );
    let (_, answer) = client.send(&path, &query).await?;
    print_json(&answer);
    Ok(())
}

/// `geo watch`: prints the WebSocket events as JSON lines until Ctrl-C or the hub closes.
pub async fn watch(global: &Global) -> anyhow::Result<()> {
    let mut client = Client::open(HubUrl::parse(&global.hub)?, &global.key_path())?;
    // A cheap authenticated call refreshes the token first if needed (the WebSocket handshake
    // cannot do that by itself).
    client.send(&GetMe::full_path(), &GetMe).await?;
    let token = client.token().await?;
    let url = client.http().hub().ws_url(&format!("/api/v1/ws?token={token}"));
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .map_err(|e| anyhow::anyhow!("opening the event stream: {e}"))?;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            _ = &mut ctrl_c => break,
            msg = ws.next() => match msg {
                None => break,
                Some(Err(e)) => anyhow::bail!("event stream: {e}"),
                Some(Ok(Message::Text(text))) => {
                    match serde_json::from_str::<Value>(text.as_str()) {
                        Ok(v) => println!("{v}"),
                        Err(_) => println!("{}", json!({ "type": "raw", "text": text.as_str() })),
                    }
                }
                Some(Ok(Message::Close(_))) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = ws.close(None).await;
    Ok(())
}
