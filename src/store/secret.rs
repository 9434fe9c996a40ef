//! Passwords in the desktop's Secret Service (GNOME Keyring, KWallet, KeePassXC…), spoken to
//! directly over D-Bus with `gio` (the `plain` transfer algorithm: the secret crosses only the
//! private session bus). Never a file. When no Secret Service is running, [`is_available`] says
//! so and the sign-in page disables "Remember password".

use std::collections::HashMap;

use gtk::gio;
use gtk::glib;
use gtk::glib::variant::ObjectPath;
use gtk::prelude::*;

const SERVICE: &str = "org.freedesktop.secrets";
const SERVICE_PATH: &str = "/org/freedesktop/secrets";
const SERVICE_IFACE: &str = "org.freedesktop.Secret.Service";
const COLLECTION_IFACE: &str = "org.freedesktop.Secret.Collection";
const ITEM_IFACE: &str = "org.freedesktop.Secret.Item";
const PROMPT_IFACE: &str = "org.freedesktop.Secret.Prompt";
const DEFAULT_COLLECTION: &str = "/org/freedesktop/secrets/aliases/default";
/// The schema attribute that marks our items.
const SCHEMA: &str = "io.github.mariposa.Mariposa.Password";

/// A Secret Service failure, as text for the user.
pub type Error = String;

async fn bus() -> Result<gio::DBusConnection, Error> {
    gio::bus_get_future(gio::BusType::Session)
        .await
        .map_err(|e| e.to_string())
}

async fn call(
    conn: &gio::DBusConnection,
    path: &str,
    iface: &str,
    method: &str,
    args: Option<&glib::Variant>,
) -> Result<glib::Variant, Error> {
    conn.call_future(
        Some(SERVICE),
        path,
        iface,
        method,
        args,
        None,
        gio::DBusCallFlags::NONE,
        25_000,
    )
    .await
    .map_err(|e| e.to_string())
}

/// Whether a Secret Service runs (or can be started) on the session bus.
pub async fn is_available() -> bool {
    let Ok(conn) = bus().await else { return false };
    let ask = |method: &'static str, args: Option<glib::Variant>| {
        conn.call_future(
            Some("org.freedesktop.DBus"),
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            method,
            args.as_ref(),
            None,
            gio::DBusCallFlags::NONE,
            5_000,
        )
    };
    if let Ok(reply) = ask("NameHasOwner", Some((SERVICE,).to_variant())).await {
        if reply.get::<(bool,)>().is_some_and(|(b,)| b) {
            return true;
        }
    }
    match ask("ListActivatableNames", None).await {
        Ok(reply) => reply
            .get::<(Vec<String>,)>()
            .is_some_and(|(names,)| names.iter().any(|n| n == SERVICE)),
        Err(_) => false,
    }
}

fn attributes(account: &str) -> HashMap<String, String> {
    HashMap::from([
        ("xdg:schema".to_string(), SCHEMA.to_string()),
        ("account".to_string(), account.to_lowercase()),
    ])
}

fn path(p: &str) -> Result<ObjectPath, Error> {
    ObjectPath::try_from(p.to_string()).map_err(|e| e.to_string())
}

async fn open_session(conn: &gio::DBusConnection) -> Result<ObjectPath, Error> {
    let args = ("plain", "".to_variant()).to_variant();
    let reply = call(
        conn,
        SERVICE_PATH,
        SERVICE_IFACE,
        "OpenSession",
        Some(&args),
    )
    .await?;
    reply
        .try_child_value(1)
        .and_then(|v| v.get::<ObjectPath>())
        .ok_or_else(|| "unexpected OpenSession reply".to_string())
}

/// Shows a Secret Service prompt (unlock, create keyring) and waits for its answer.
async fn run_prompt(conn: &gio::DBusConnection, prompt: &str) -> Result<(), Error> {
    if prompt == "/" {
        return Ok(());
    }
    let (tx, rx) = async_channel::bounded::<bool>(1);
    let subscription = conn.subscribe_to_signal(
        Some(SERVICE),
        Some(PROMPT_IFACE),
        Some("Completed"),
        Some(prompt),
        None,
        gio::DBusSignalFlags::NONE,
        move |signal| {
            let dismissed = signal
                .parameters
                .try_child_value(0)
                .and_then(|v| v.get::<bool>())
                .unwrap_or(true);
            let _ = tx.try_send(dismissed);
        },
    );
    let shown = call(
        conn,
        prompt,
        PROMPT_IFACE,
        "Prompt",
        Some(&("",).to_variant()),
    )
    .await;
    let result = match shown {
        Ok(_) => match rx.recv().await {
            Ok(false) => Ok(()),
            _ => Err("the keyring prompt was dismissed".to_string()),
        },
        Err(e) => Err(e),
    };
    drop(subscription);
    result
}

async fn unlock(conn: &gio::DBusConnection, objects: Vec<ObjectPath>) -> Result<(), Error> {
    let reply = call(
        conn,
        SERVICE_PATH,
        SERVICE_IFACE,
        "Unlock",
        Some(&(objects,).to_variant()),
    )
    .await?;
    let prompt = reply
        .try_child_value(1)
        .and_then(|v| v.get::<ObjectPath>())
        .ok_or_else(|| "unexpected Unlock reply".to_string())?;
    run_prompt(conn, prompt.as_str()).await
}

async fn search(conn: &gio::DBusConnection, account: &str) -> Result<Vec<ObjectPath>, Error> {
    let reply = call(
        conn,
        SERVICE_PATH,
        SERVICE_IFACE,
        "SearchItems",
        Some(&(attributes(account),).to_variant()),
    )
    .await?;
    let (mut unlocked, locked) = reply
        .get::<(Vec<ObjectPath>, Vec<ObjectPath>)>()
        .ok_or_else(|| "unexpected SearchItems reply".to_string())?;
    if !locked.is_empty() {
        unlock(conn, locked.clone()).await?;
        unlocked.extend(locked);
    }
    Ok(unlocked)
}

/// The remembered password of `account`, if any.
pub async fn lookup(account: &str) -> Result<Option<String>, Error> {
    let conn = bus().await?;
    let items = search(&conn, account).await?;
    let Some(item) = items.into_iter().next() else {
        return Ok(None);
    };
    let session = open_session(&conn).await?;
    let reply = call(
        &conn,
        item.as_str(),
        ITEM_IFACE,
        "GetSecret",
        Some(&(session,).to_variant()),
    )
    .await?;
    let value = reply
        .try_child_value(0)
        .and_then(|secret| secret.try_child_value(2))
        .and_then(|v| v.get::<Vec<u8>>())
        .ok_or_else(|| "unexpected GetSecret reply".to_string())?;
    String::from_utf8(value)
        .map(Some)
        .map_err(|_| "the stored password is not text".to_string())
}

/// Stores (or replaces) the password of `account`.
pub async fn store(account: &str, password: &str) -> Result<(), Error> {
    let conn = bus().await?;
    let session = open_session(&conn).await?;
    let collection = path(DEFAULT_COLLECTION)?;
    unlock(&conn, vec![collection.clone()]).await?;
    let mut props: HashMap<String, glib::Variant> = HashMap::new();
    props.insert(
        "org.freedesktop.Secret.Item.Label".into(),
        crate::i18n::gettext_f("Mariposa password for {}", &[account]).to_variant(),
    );
    props.insert(
        "org.freedesktop.Secret.Item.Attributes".into(),
        attributes(account).to_variant(),
    );
    let secret = (
        session,
        Vec::<u8>::new(),
        password.as_bytes().to_vec(),
        "text/plain; charset=utf8".to_string(),
    );
    let args = (props, secret, true).to_variant();
    let reply = call(
        &conn,
        collection.as_str(),
        COLLECTION_IFACE,
        "CreateItem",
        Some(&args),
    )
    .await?;
    let prompt = reply
        .try_child_value(1)
        .and_then(|v| v.get::<ObjectPath>())
        .ok_or_else(|| "unexpected CreateItem reply".to_string())?;
    run_prompt(&conn, prompt.as_str()).await
}

/// Forgets the password of `account`.
pub async fn clear(account: &str) -> Result<(), Error> {
    let conn = bus().await?;
    for item in search(&conn, account).await? {
        let reply = call(&conn, item.as_str(), ITEM_IFACE, "Delete", None).await?;
        if let Some(prompt) = reply.try_child_value(0).and_then(|v| v.get::<ObjectPath>()) {
            run_prompt(&conn, prompt.as_str()).await?;
        }
    }
    Ok(())
}
