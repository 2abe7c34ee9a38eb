//! Key rotation: `bodywork rekey` (`services::rekey`) moves every sealed value to the current
//! key, in resumable batches; old keys open what they sealed meanwhile; the published key is
//! refused as the current one.

use std::collections::BTreeMap;

use bodywork::config::Secret;
use bodywork::models::appointment::Appointment;
use bodywork::models::now;
use bodywork::services::booking::{open_answers, open_note, seal_answers, seal_note};
use bodywork::services::crypto::AnswerCipher;
use bodywork::services::notes::notes_aad;
use bodywork::services::rekey::{pending, rekey_batch, Pending};
use diesel::prelude::*;

use crate::builders::{appointment_row as appointment, at, fixture, spawn_app, with_conn};

fn answers() -> BTreeMap<String, bool> {
    BTreeMap::from([("pregnant".to_string(), true), ("fever".to_string(), false)])
}

/// The first stored form (`v1:` + base64, no key id) of a sealed value: what a database
/// written before key ids holds.
fn first_form(sealed: &str) -> String {
    format!("v1:{}", sealed.splitn(3, ':').nth(2).unwrap())
}

#[tokio::test]
async fn rekey_moves_answers_entry_notes_and_session_notes_to_the_new_key_in_resumable_batches() {
    let app = spawn_app().await;
    let f = fixture(&app, 1);
    let (t, c) = (f.therapist_id, f.client_ids[0]);
    let old = AnswerCipher::from_key([1u8; 32]);
    let new = AnswerCipher::from_key([2u8; 32]);
    let rotating = new.clone().with_old_keys(vec![old.clone()]);

    let (ids, note_row) = with_conn(&app, |conn| {
        use bodywork::db::schema::{appointments, session_notes};
        let mut ids = Vec::new();
        for (i, legacy) in [(0u32, true), (2, false), (4, false)] {
            let mut a = appointment(&f, 0, at(9 + i, 0));
            let sealed = seal_answers(&old, &answers(), t, c).unwrap();
            a.screening_answers = if legacy { first_form(&sealed) } else { sealed };
            a.entry_note = seal_note(&old, "Walk-in, left shoulder", t, c);
            ids.push(a.insert(conn).unwrap());
        }
        // Already under the new key: left alone.
        diesel::update(appointments::table.find(ids[2]))
            .set(appointments::screening_answers.eq(seal_answers(&new, &answers(), t, c).unwrap()))
            .execute(conn)
            .unwrap();
        let body = br#"{"subjective":"Sore neck","objective":"","assessment":"","plan":""}"#;
        diesel::insert_into(session_notes::table)
            .values((
                session_notes::appointment_id.eq(ids[0]),
                session_notes::author_user_id.eq(t),
                session_notes::version.eq(1),
                session_notes::sealed.eq(old.encrypt(body, &notes_aad(ids[0], t, c))),
                session_notes::key_id.eq(old.key_id()),
                session_notes::created_at.eq(now()),
            ))
            .execute(conn)
            .unwrap();
        let note_row: (i64, chrono::NaiveDateTime) = session_notes::table
            .select((session_notes::id, session_notes::created_at))
            .first(conn)
            .unwrap();
        (ids, note_row)
    });

    with_conn(&app, |conn| {
        assert_eq!(
            pending(conn, &rotating).unwrap(),
            Pending {
                appointments: 3,
                notes: 1,
                totp_secrets: 0,
            },
            "the third's entry note is still under the old key"
        );
        // The new key alone cannot read what the old one sealed.
        let first = Appointment::find(conn, ids[0]).unwrap();
        assert!(open_answers(&new, &first).is_err());
        assert_eq!(open_answers(&rotating, &first).unwrap(), Some(answers()));

        // One appointment and one note per batch: stopped after the first, it resumes.
        assert_eq!(rekey_batch(conn, &rotating, 1).unwrap(), 2);
        assert_eq!(pending(conn, &rotating).unwrap().total(), 2);
        while rekey_batch(conn, &rotating, 1).unwrap() > 0 {}
        assert_eq!(pending(conn, &rotating).unwrap().total(), 0);

        // Everything opens with the new key alone, and says so.
        for id in &ids {
            let a = Appointment::find(conn, *id).unwrap();
            assert!(
                new.is_current(&a.screening_answers),
                "{}",
                a.screening_answers
            );
            assert_eq!(open_answers(&new, &a).unwrap(), Some(answers()));
            assert_eq!(
                open_note(&new, &a).unwrap().as_deref(),
                Some("Walk-in, left shoulder")
            );
        }
        use bodywork::db::schema::session_notes;
        let (id, sealed, key_id, created_at): (i64, String, String, chrono::NaiveDateTime) =
            session_notes::table
                .select((
                    session_notes::id,
                    session_notes::sealed,
                    session_notes::key_id,
                    session_notes::created_at,
                ))
                .first(conn)
                .unwrap();
        assert_eq!(
            (id, created_at),
            note_row,
            "the version itself is unchanged"
        );
        assert_eq!(key_id, new.key_id());
        assert!(new.decrypt(&sealed, &notes_aad(ids[0], t, c)).is_ok());
        // Notes stay append-only: a rewrite under the same key is refused.
        let rewrite = diesel::update(session_notes::table.find(id))
            .set(session_notes::sealed.eq(new.encrypt(b"{}", &notes_aad(ids[0], t, c))))
            .execute(conn);
        assert!(rewrite.is_err(), "rewrite refused");
        // Nothing left: a run again does nothing.
        assert_eq!(rekey_batch(conn, &rotating, 100).unwrap(), 0);
    });
}

#[tokio::test]
async fn the_published_key_is_refused_at_start_and_accepted_only_as_an_old_key() {
    let published = "9JYDnQe+OgrIKNB0T1A2zUEIUgYxA0TQoe7PkLoK964=";
    let mut settings = bodywork::config::Settings {
        answers_key: Some(Secret::new(published)),
        ..Default::default()
    };
    let err = AnswerCipher::from_settings(&settings)
        .unwrap_err()
        .to_string();
    assert!(err.contains("published"), "{err}");
    assert!(err.contains("bodywork rekey"), "{err}");
    assert!(
        !err.contains(published),
        "the message never repeats the key"
    );

    let fresh = AnswerCipher::generate_key_base64();
    settings.answers_key = Some(Secret::new(fresh));
    settings.answers_old_keys = vec![Secret::new(published)];
    let cipher =
        AnswerCipher::from_settings(&settings).expect("an old key may be the published one");
    let old = AnswerCipher::from_base64(published).unwrap();
    let sealed = old.encrypt(b"answers", b"aad");
    assert_eq!(cipher.decrypt(&sealed, b"aad").unwrap(), b"answers");
    assert!(!cipher.is_current(&sealed));
}
