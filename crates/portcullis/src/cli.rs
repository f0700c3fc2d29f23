//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "portcullis",
    version,
    about = "An OAuth 2.0 authorization server"
)]
pub struct Cli {
    /// TOML configuration file.
    #[arg(long, global = true, env = "PORTCULLIS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// sqlite://PATH (default sqlite://./portcullis-data/portcullis.db) or postgres://...
    #[arg(
        long,
        global = true,
        env = "PORTCULLIS_DATABASE_URL",
        value_name = "URL"
    )]
    pub database_url: Option<String>,
    /// Print exactly one JSON document instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage clients (apps).
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage the scope registry.
    #[command(subcommand)]
    Scope(ScopeCommand),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, env = "PORTCULLIS_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// Public base URL (default http://LISTEN-ADDRESS).
    #[arg(long, env = "PORTCULLIS_ISSUER", value_name = "URL")]
    pub issuer: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from stdin or prompted for.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: Option<String>,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
    /// Stop a user from signing in.
    Disable { username: String },
    /// Let a disabled user sign in again.
    Enable { username: String },
    /// Create a personal access token for the developer API; printed once.
    CreateToken {
        username: String,
        /// What the token is for, e.g. "deploy script".
        #[arg(long)]
        name: String,
    },
    /// Set a user's password.
    SetPassword {
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; a confidential client's secret is printed once.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        #[arg(long)]
        homepage: Option<String>,
        /// May be repeated.
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// A scope the client may ask for; may be repeated.
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// A grant type the client may use; may be repeated.
        #[arg(long = "grant-type", value_name = "GRANT")]
        grant_types: Vec<String>,
        /// A public client (native or browser app) has no secret and must use PKCE.
        #[arg(long)]
        public: bool,
        /// Username of the owner.
        #[arg(long)]
        owner: Option<String>,
        #[command(flatten)]
        lifetimes: LifetimeArgs,
    },
    /// List clients.
    List {
        /// Only the clients of this user.
        #[arg(long)]
        owner: Option<String>,
    },
    /// Show one client.
    Show { client_id: String },
    /// Change a client; list options replace the whole list.
    Update {
        client_id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        homepage: Option<String>,
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Option<Vec<String>>,
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Option<Vec<String>>,
        #[arg(long = "grant-type", value_name = "GRANT")]
        grant_types: Option<Vec<String>>,
        #[command(flatten)]
        lifetimes: LifetimeArgs,
    },
    /// Delete a client and every token it holds.
    Delete { client_id: String },
    /// Issue a new secret, printed once.
    RotateSecret {
        client_id: String,
        /// Keep the old secret working for this many seconds.
        #[arg(long, default_value_t = 0, value_name = "SECONDS")]
        overlap: i64,
    },
}

/// Token lifetimes for one client, in seconds (default: the server's).
#[derive(Debug, Args)]
pub struct LifetimeArgs {
    #[arg(long, value_name = "SECONDS")]
    pub access_token_ttl: Option<i64>,
    /// Absolute limit of a grant's refresh tokens.
    #[arg(long, value_name = "SECONDS")]
    pub refresh_token_ttl: Option<i64>,
    /// A refresh token unused this long expires.
    #[arg(long, value_name = "SECONDS")]
    pub refresh_token_idle_ttl: Option<i64>,
}

impl LifetimeArgs {
    pub fn into_lifetimes(self) -> service::clients::Lifetimes {
        service::clients::Lifetimes {
            access_token_ttl: self.access_token_ttl,
            refresh_token_ttl: self.refresh_token_ttl,
            refresh_token_idle_ttl: self.refresh_token_idle_ttl,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ScopeCommand {
    /// Add a scope to the registry.
    Create {
        name: String,
        /// Shown to users on the consent page (default: the name).
        #[arg(long)]
        label: Option<String>,
        #[arg(long, default_value = "")]
        description: String,
        /// A claim a token request for this scope must carry; may be repeated.
        #[arg(long = "require-claim", value_name = "CLAIM")]
        required_claims: Vec<String>,
    },
    /// List scopes.
    List,
    /// Remove a scope no client may ask for any more.
    Delete { name: String },
}
