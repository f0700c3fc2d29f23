//! The admin commands: one service call each, printed as text or JSON.

use std::io::{BufRead, IsTerminal};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use service::clients::{ClientChanges, ClientSpec};
use service::scopes::NewScope;
use service::users::NewUser;
use service::{Origin, Service};
use store::{Client, Scope, User};

use crate::cli::{ClientCommand, ScopeCommand, UserCommand};

/// What a command prints: a JSON document, and its text form.
pub struct Output {
    pub json: Value,
    pub text: String,
}

fn user_json(u: &User) -> Value {
    json!({
        "id": u.id,
        "username": u.username,
        "email": u.email,
        "disabled": u.disabled,
        "created_at": u.created_at,
    })
}

fn user_text(u: &User) -> String {
    let state = if u.disabled { " (disabled)" } else { "" };
    format!(
        "{}\t{}{}",
        u.username,
        u.email.as_deref().unwrap_or("-"),
        state
    )
}

async fn client_json(service: &Service, c: &Client, secret: Option<&str>) -> anyhow::Result<Value> {
    let owner = match &c.owner_id {
        Some(id) => service.user(id).await?.map(|u| u.username),
        None => None,
    };
    let mut v = json!({
        "client_id": c.id,
        "name": c.name,
        "description": c.description,
        "homepage": c.homepage,
        "owner": owner,
        "public": c.public,
        "redirect_uris": c.redirect_uris.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
        "scopes": c.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "grant_types": c.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "access_token_ttl": c.access_token_ttl,
        "refresh_token_ttl": c.refresh_token_ttl,
        "refresh_token_idle_ttl": c.refresh_token_idle_ttl,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    });
    if let Some(secret) = secret {
        v["client_secret"] = json!(secret);
    }
    Ok(v)
}

fn client_text(v: &Value) -> String {
    let list = |k: &str| {
        let items: Vec<&str> = v[k]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if items.is_empty() {
            "-".to_owned()
        } else {
            items.join(" ")
        }
    };
    let mut out = format!(
        "client_id:     {}\nname:          {}\ntype:          {}\nowner:         {}\nredirect_uris: {}\nscopes:        {}\ngrant_types:   {}",
        v["client_id"].as_str().unwrap_or_default(),
        v["name"].as_str().unwrap_or_default(),
        if v["public"] == json!(true) {
            "public"
        } else {
            "confidential"
        },
        v["owner"].as_str().unwrap_or("-"),
        list("redirect_uris"),
        list("scopes"),
        list("grant_types"),
    );
    if let Some(secret) = v["client_secret"].as_str() {
        out.push_str(&format!(
            "\nclient_secret: {secret}\n\nCopy the secret now: it is stored only as a hash and cannot be shown again."
        ));
    }
    out
}

fn scope_json(s: &Scope) -> Value {
    json!({
        "name": s.name,
        "label": s.label,
        "description": s.description,
        "required_claims": s.required_claims,
    })
}

fn scope_text(s: &Scope) -> String {
    let claims = if s.required_claims.is_empty() {
        String::new()
    } else {
        format!(" (requires {})", s.required_claims.join(", "))
    };
    format!("{}\t{}{}", s.name, s.label, claims)
}

/// Reads a password: the first line of stdin with `--password-stdin`,
/// otherwise a prompt on the terminal (typed twice).
fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        let password = line.trim_end_matches(['\n', '\r']).to_owned();
        if password.is_empty() {
            bail!("no password on stdin");
        }
        return Ok(password);
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "no terminal to prompt for a password; pass --password-stdin and pipe the password in"
        );
    }
    let first = rpassword::prompt_password("Password: ")?;
    let second = rpassword::prompt_password("Repeat password: ")?;
    if first != second {
        bail!("the passwords do not match");
    }
    Ok(first)
}

pub async fn user(service: &Service, command: UserCommand) -> anyhow::Result<Output> {
    let origin = Origin::cli();
    Ok(match command {
        UserCommand::Create {
            username,
            email,
            password_stdin,
        } => {
            let password = read_password(password_stdin)?;
            let user = service
                .create_user(
                    NewUser {
                        username,
                        email,
                        password,
                    },
                    &origin,
                )
                .await?;
            Output {
                text: format!("created user {}", user.username),
                json: user_json(&user),
            }
        }
        UserCommand::List => {
            let users = service.list_users().await?;
            Output {
                text: users.iter().map(user_text).collect::<Vec<_>>().join("\n"),
                json: Value::Array(users.iter().map(user_json).collect()),
            }
        }
        UserCommand::Disable { username } => {
            service.set_user_disabled(&username, true, &origin).await?;
            Output {
                text: format!("disabled user {username}"),
                json: json!({"username": username, "disabled": true}),
            }
        }
        UserCommand::Enable { username } => {
            service.set_user_disabled(&username, false, &origin).await?;
            Output {
                text: format!("enabled user {username}"),
                json: json!({"username": username, "disabled": false}),
            }
        }
        UserCommand::CreateToken { username, name } => {
            let user = service
                .user_by_username(&username)
                .await?
                .with_context(|| format!("user {username:?} not found"))?;
            let (token, info) = service
                .create_personal_access_token(&user, &name, &origin)
                .await?;
            Output {
                text: format!(
                    "token:  {token}\nname:   {}\n\nCopy the token now: it cannot be shown again.",
                    info.name
                ),
                json: json!({"username": username, "id": info.id, "name": info.name, "token": token}),
            }
        }
        UserCommand::SetPassword {
            username,
            password_stdin,
        } => {
            let password = read_password(password_stdin)?;
            service
                .set_user_password(&username, password, &origin)
                .await?;
            Output {
                text: format!("changed the password of {username}"),
                json: json!({"username": username}),
            }
        }
    })
}

pub async fn client(service: &Service, command: ClientCommand) -> anyhow::Result<Output> {
    let origin = Origin::cli();
    let one = |v: Value| Output {
        text: client_text(&v),
        json: v,
    };
    Ok(match command {
        ClientCommand::Create {
            name,
            description,
            homepage,
            redirect_uris,
            scopes,
            grant_types,
            public,
            owner,
            lifetimes,
        } => {
            let spec = ClientSpec {
                name,
                description,
                homepage,
                redirect_uris,
                scopes,
                grant_types,
                public,
                owner,
                lifetimes: lifetimes.into_lifetimes(),
            };
            let created = service.create_client(spec, &origin).await?;
            let mut v = client_json(service, &created.client, created.secret.as_deref()).await?;
            if created.secret.is_none() {
                v["client_secret"] = Value::Null;
            }
            one(v)
        }
        ClientCommand::List { owner } => {
            let owner_id = match owner {
                Some(username) => Some(
                    service
                        .user_by_username(&username)
                        .await?
                        .with_context(|| format!("no user {username:?}"))?
                        .id,
                ),
                None => None,
            };
            let mut items = Vec::new();
            for c in service.list_clients(owner_id.as_deref()).await? {
                items.push(client_json(service, &c, None).await?);
            }
            let text = items
                .iter()
                .map(|v| {
                    format!(
                        "{}\t{}",
                        v["client_id"].as_str().unwrap_or_default(),
                        v["name"].as_str().unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            Output {
                text,
                json: Value::Array(items),
            }
        }
        ClientCommand::Show { client_id } => {
            one(client_json(service, &service.existing_client(&client_id).await?, None).await?)
        }
        ClientCommand::Update {
            client_id,
            name,
            description,
            homepage,
            redirect_uris,
            scopes,
            grant_types,
            lifetimes,
        } => {
            let changes = ClientChanges {
                name,
                description,
                homepage: homepage.map(|h| Some(h).filter(|h| !h.is_empty())),
                redirect_uris,
                scopes,
                grant_types,
                lifetimes: lifetimes.into_lifetimes(),
            };
            let client = service.update_client(&client_id, changes, &origin).await?;
            one(client_json(service, &client, None).await?)
        }
        ClientCommand::Delete { client_id } => {
            service.delete_client(&client_id, &origin).await?;
            Output {
                text: format!("deleted client {client_id}"),
                json: json!({"client_id": client_id, "deleted": true}),
            }
        }
        ClientCommand::RotateSecret { client_id, overlap } => {
            let secret = service
                .rotate_client_secret(&client_id, overlap, &origin)
                .await?;
            let note = if overlap > 0 {
                format!("The old secret keeps working for {overlap} seconds.")
            } else {
                "The old secret no longer works.".to_owned()
            };
            Output {
                text: format!(
                    "client_id:     {client_id}\nclient_secret: {secret}\n\nCopy the secret now: it cannot be shown again. {note}"
                ),
                json: json!({"client_id": client_id, "client_secret": secret}),
            }
        }
    })
}

pub async fn scope(service: &Service, command: ScopeCommand) -> anyhow::Result<Output> {
    let origin = Origin::cli();
    Ok(match command {
        ScopeCommand::Create {
            name,
            label,
            description,
            required_claims,
        } => {
            let scope = service
                .create_scope(
                    NewScope {
                        name,
                        label,
                        description,
                        required_claims,
                    },
                    &origin,
                )
                .await?;
            Output {
                text: format!("created scope {}", scope.name),
                json: scope_json(&scope),
            }
        }
        ScopeCommand::List => {
            let scopes = service.list_scopes().await?;
            Output {
                text: scopes.iter().map(scope_text).collect::<Vec<_>>().join("\n"),
                json: Value::Array(scopes.iter().map(scope_json).collect()),
            }
        }
        ScopeCommand::Delete { name } => {
            service.delete_scope(&name, &origin).await?;
            Output {
                text: format!("deleted scope {name}"),
                json: json!({"name": name, "deleted": true}),
            }
        }
    })
}
