//! Browser journey of the clients and session notes (fixtures in `builders::browser`): the
//! therapist finds a client from the area's navigation, opens a past session from the client's
//! file, writes notes and a second version, sees the first in the history; the client reads
//! the notes on their booking page and finds their read in the access log.

use chrono::Duration;
use thirtyfour::prelude::*;

use crate::builders::browser::{browser, finish, log_in_as, log_out, press, type_into};
use crate::builders::{appointment_at, named_client, open_therapist, spawn_app};

const S1: &str = "Sore right shoulder after moving house";
const P1: &str = "Again in two weeks";
const S2: &str = "Right shoulder easing; left calf cramps at night";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_therapist_writes_session_notes_from_the_clients_file_and_the_client_reads_them() {
    let Some((_driver, b, _profile)) = browser().await else {
        return;
    };
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    let m = open_therapist(&app, admin_id, "maya@example.com", &["swedish"]).await;
    let (dana, _) = named_client(&app, "dana@example.com", "Dana Client").await;
    let (lee, _) = named_client(&app, "lee@example.com", "Lee Other").await;
    let past = appointment_at(&app, &m, dana, -Duration::hours(2), "confirmed");
    appointment_at(&app, &m, dana, -Duration::days(8), "completed");
    appointment_at(&app, &m, lee, -Duration::days(9), "completed");

    let result = async {
        log_in_as(&b, &app, "maya@example.com").await?;
        b.goto(app.url("/therapist")).await?;
        b.query(By::LinkText("Clients"))
            .first()
            .await?
            .click()
            .await?;
        let count = b
            .query(By::Css("[data-testid=clients-count]"))
            .first()
            .await?;
        assert!(count.text().await?.starts_with("2 clients"));
        type_into(&b, "q", "DANA").await?;
        press(&b, "Find").await?;
        count.wait_until().stale().await?;
        let count = b
            .query(By::Css("[data-testid=clients-count]"))
            .first()
            .await?;
        assert!(count.text().await?.starts_with("1 client matching"));
        let rows = b.find_all(By::Css("[data-testid=client]")).await?;
        assert_eq!(rows.len(), 1);
        assert_eq!(
            rows[0]
                .find(By::Css("[data-testid=visits]"))
                .await?
                .text()
                .await?,
            "2"
        );
        rows[0]
            .find(By::LinkText("Dana Client"))
            .await?
            .click()
            .await?;

        // The client's file: both sessions, each linking to its appointment.
        let h1 = b.query(By::XPath("//h1[.='Dana Client']")).first().await?;
        assert!(h1.is_displayed().await?);
        assert_eq!(
            b.find_all(By::Css("[data-testid=client-appointment]"))
                .await?
                .len(),
            2
        );
        b.query(By::Css(format!("a[href='/therapist/appointments/{past}']")))
            .first()
            .await?
            .click()
            .await?;

        // Write the notes, then a second version.
        type_into(&b, "notes-subjective", S1).await?;
        type_into(&b, "notes-plan", P1).await?;
        press(&b, "Save notes").await?;
        let flash = b.query(By::Css(".flash")).first().await?;
        assert_eq!(flash.text().await?, "Session notes saved (version 1).");
        let subjective = b.query(By::Id("notes-subjective")).first().await?;
        assert_eq!(subjective.prop("value").await?.as_deref(), Some(S1));
        subjective.clear().await?;
        subjective.send_keys(S2).await?;
        press(&b, "Save a new version").await?;
        subjective.wait_until().stale().await?;
        let flash = b.query(By::Css(".flash")).first().await?;
        assert_eq!(flash.text().await?, "Session notes saved (version 2).");
        // The history: version 1 folded away, readable when opened.
        let earlier = b
            .query(By::Css("[data-testid=notes-version]"))
            .first()
            .await?;
        let summary = earlier.find(By::Tag("summary")).await?;
        assert!(summary.text().await?.starts_with("Version 1,"));
        let first_text = earlier
            .find(By::Css("[data-testid=soap-subjective]"))
            .await?;
        assert!(!first_text.is_displayed().await?, "folded");
        summary.click().await?;
        assert_eq!(first_text.text().await?, S1);

        // The client reads them on their booking page; the read is listed.
        log_out(&b).await?;
        log_in_as(&b, &app, "dana@example.com").await?;
        b.goto(app.url(&format!("/bookings/{past}"))).await?;
        let notes = b
            .query(By::Css("[data-testid=session-notes]"))
            .first()
            .await?;
        let text = notes.text().await?;
        assert!(text.contains(S2) && text.contains(P1), "{text}");
        let log = b.query(By::Css("[data-testid=access-log]")).first().await?;
        assert!(log
            .text()
            .await?
            .contains("Dana Client read the session notes"));
        Ok(())
    }
    .await;
    finish(b, result).await;
}
