// One schema for both backends (see migrations/sqlite and migrations/postgres).
// Instants are `Timestamp` in UTC: TIMESTAMPTZ on PostgreSQL, text on SQLite.

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        password_hash -> Text,
        name -> Text,
        role -> Text,
        created_at -> Timestamp,
        /// Whether the person wants reminder mails before their sessions.
        reminders -> Bool,
        /// When the email address was verified (null: not yet).
        email_verified_at -> Nullable<Timestamp>,
        /// When the person erased their account (name and email are a placeholder since).
        erased_at -> Nullable<Timestamp>,
        /// When the account's two-factor sign-in was confirmed (null: none).
        totp_enabled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// An account's TOTP secret, sealed (`services::crypto`), pending until confirmed.
    totp_secrets (user_id) {
        user_id -> BigInt,
        sealed -> Text,
        confirmed_at -> Nullable<Timestamp>,
        /// The last time step a code was accepted for (30 s steps since the Unix epoch).
        last_step -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Recovery codes (SHA-256 of each), each used once.
    totp_recovery_codes (id) {
        id -> BigInt,
        user_id -> BigInt,
        code_hash -> Text,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Single-use tokens sent by mail, stored as SHA-256 (`services::tokens`).
    account_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        purpose -> Text,
        token_hash -> Text,
        new_email -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        /// The appointment a `screening` token answers for.
        appointment_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        token_hash -> Text,
        user_id -> BigInt,
        csrf_token -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        token_hash -> Text,
        user_id -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_attempts (account_key) {
        account_key -> Text,
        failures -> Integer,
        window_started_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    techniques (slug) {
        slug -> Text,
        name -> Text,
        description -> Text,
        not_for -> Text,
        sort_order -> Integer,
    }
}

diesel::table! {
    therapists (id) {
        id -> BigInt,
        user_id -> BigInt,
        bio -> Text,
        city -> Nullable<Text>,
        region -> Nullable<Text>,
        latitude -> Nullable<Double>,
        longitude -> Nullable<Double>,
        geo_cell -> Nullable<Integer>,
        timezone -> Text,
        accepting_new_clients -> Bool,
        languages -> Text,
        in_studio -> Bool,
        mobile -> Bool,
        suspended_at -> Nullable<Timestamp>,
        suspended_reason -> Nullable<Text>,
        calendar_token_hash -> Nullable<Text>,
        verified_hours -> Integer,
        license_verified_until -> Nullable<Date>,
        price_from_cents -> Nullable<BigInt>,
        schedule_version -> BigInt,
        technique_mask -> BigInt,
        directory_stamp -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        /// The stored photo's version (`therapist_photos.version`), 0 without one.
        photo_version -> BigInt,
        /// The studio's street address (null: no studio, mobile visits only).
        address -> Nullable<Text>,
        /// A phone for clients.
        phone -> Nullable<Text>,
        /// How far from their city a mobile therapist travels.
        mobile_radius_km -> Nullable<Integer>,
        /// How many reviews of this therapist are shown (not hidden): `services::reviews`.
        rating_count -> Integer,
        /// The sum of their stars (the average is `domain::review::average`).
        rating_sum -> Integer,
    }
}

diesel::table! {
    /// A client's review of a completed appointment, one per appointment (`services::reviews`).
    reviews (id) {
        id -> BigInt,
        appointment_id -> BigInt,
        therapist_id -> BigInt,
        client_id -> BigInt,
        rating -> Integer,
        body -> Text,
        created_at -> Timestamp,
        hidden_at -> Nullable<Timestamp>,
        hidden_reason -> Nullable<Text>,
        hidden_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// The reviewed therapist's reply, one per review.
    review_replies (id) {
        id -> BigInt,
        review_id -> BigInt,
        author_user_id -> BigInt,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// A therapist's profile photo, re-encoded at each fixed size (`domain::photo`).
    therapist_photos (therapist_id) {
        therapist_id -> BigInt,
        version -> BigInt,
        card_jpeg -> Binary,
        profile_jpeg -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    therapist_techniques (therapist_id, technique_slug) {
        therapist_id -> BigInt,
        technique_slug -> Text,
    }
}

diesel::table! {
    services (id) {
        id -> BigInt,
        therapist_id -> BigInt,
        technique_slug -> Text,
        duration_min -> Integer,
        price_cents -> BigInt,
        retired_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    licenses (id) {
        id -> BigInt,
        therapist_id -> BigInt,
        jurisdiction -> Text,
        number -> Text,
        issuing_body -> Text,
        expires_on -> Date,
        status -> Text,
        submitted_at -> Timestamp,
        decided_by -> Nullable<BigInt>,
        decided_at -> Nullable<Timestamp>,
        rejection_reason -> Nullable<Text>,
        /// When the "expires within 30 days" mail went out (once per license).
        expiry_warned_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    training_records (id) {
        id -> BigInt,
        therapist_id -> BigInt,
        program -> Text,
        hours -> Integer,
        completed_on -> Date,
        status -> Text,
        submitted_at -> Timestamp,
        decided_by -> Nullable<BigInt>,
        decided_at -> Nullable<Timestamp>,
        rejection_reason -> Nullable<Text>,
    }
}

diesel::table! {
    weekly_hours (id) {
        id -> BigInt,
        therapist_id -> BigInt,
        weekday -> SmallInt,
        start_min -> Integer,
        end_min -> Integer,
    }
}

diesel::table! {
    time_off (id) {
        id -> BigInt,
        therapist_id -> BigInt,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        note -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    booking_policies (therapist_id) {
        therapist_id -> BigInt,
        min_notice_hours -> Integer,
        max_advance_days -> Integer,
        buffer_min -> Integer,
        cancellation_window_hours -> Integer,
        auto_confirm -> Bool,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    appointments (id) {
        id -> BigInt,
        therapist_id -> BigInt,
        client_id -> BigInt,
        service_id -> BigInt,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        blocked_until -> Timestamp,
        status -> Text,
        screening_version -> Integer,
        screening_answers -> Text,
        screening_outcome -> Text,
        clearance_confirmed -> Bool,
        flags_acknowledged_at -> Nullable<Timestamp>,
        cancelled_by -> Nullable<BigInt>,
        cancel_reason -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        /// How a cancelled appointment ended (`domain::appointment::CancelKind`).
        cancel_kind -> Nullable<Text>,
        /// The first appointment of a chain of moves (null: this one): the calendar UID's id.
        calendar_series -> Nullable<BigInt>,
        /// The iCalendar SEQUENCE, one more at each move.
        calendar_sequence -> Integer,
        /// `studio` or `mobile` (`domain::appointment::Visit`).
        visit -> Text,
        /// A mobile visit's address, encrypted ('' for a studio visit).
        client_address -> Text,
        /// The therapist entered it and the client has not answered the questions yet: the
        /// outcome column holds no finding meanwhile.
        screening_pending -> Bool,
        /// The therapist's user who entered the booking (null: the client booked it).
        entered_by -> Nullable<BigInt>,
        /// The therapist's note when entering a booking, encrypted ('' without one).
        entry_note -> Text,
    }
}

diesel::table! {
    /// Courses of therapy: 2 to 12 sessions at one local time (`services::course`).
    courses (id) {
        id -> BigInt,
        client_id -> BigInt,
        therapist_id -> BigInt,
        service_id -> BigInt,
        /// How many sessions were asked for (2 to 12); skipped ones have no row below.
        sessions -> Integer,
        /// 1 (weekly) or 2 (every two weeks).
        every_weeks -> Integer,
        first_starts_at -> Timestamp,
        created_at -> Timestamp,
        /// When the course was cancelled (sessions inside the window may remain).
        cancelled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// A booked session of a course: its number and its appointment.
    course_sessions (course_id, session) {
        course_id -> BigInt,
        session -> Integer,
        appointment_id -> BigInt,
    }
}

diesel::table! {
    /// Session notes (SOAP), append-only: each edit is a new version (`services::notes`).
    session_notes (id) {
        id -> BigInt,
        appointment_id -> BigInt,
        author_user_id -> BigInt,
        version -> Integer,
        sealed -> Text,
        key_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    screening_access_log (id) {
        id -> BigInt,
        appointment_id -> BigInt,
        reader_user_id -> BigInt,
        channel -> Text,
        read_at -> Timestamp,
        /// What was read: `answers`, `notes` or `address`.
        subject -> Text,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        actor_user_id -> Nullable<BigInt>,
        action -> Text,
        object_type -> Text,
        object_id -> Nullable<BigInt>,
        summary -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Safe retries: a booking's or a course's `Idempotency-Key`, reserved in its transaction
    /// (`services::idempotency`); the fingerprint and the answer are sealed.
    idempotency_keys (id) {
        id -> BigInt,
        user_id -> BigInt,
        key_hash -> Text,
        request_hash -> Text,
        response_status -> Nullable<Integer>,
        response_body -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Mails waiting to be sent, sent, given up or withdrawn (`services::outbox`).
    outbox (id) {
        id -> BigInt,
        kind -> Text,
        to_email -> Text,
        user_id -> Nullable<BigInt>,
        appointment_id -> Nullable<BigInt>,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        ics -> Nullable<Text>,
        message_id -> Text,
        status -> Text,
        attempts -> Integer,
        last_error -> Nullable<Text>,
        send_after -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        claimed_by -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// A client's wish to hear when a time of a service comes free within local days
    /// (`services::waitlist`).
    waitlist_entries (id) {
        id -> BigInt,
        client_id -> BigInt,
        therapist_id -> BigInt,
        service_id -> BigInt,
        from_date -> Date,
        to_date -> Date,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Time that may have come free, for the mail worker to check after the commit.
    waitlist_checks (id) {
        id -> BigInt,
        therapist_id -> BigInt,
        freed_from -> Timestamp,
        freed_until -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// A free slot announced to an entry (unique per entry and slot start).
    waitlist_announcements (id) {
        id -> BigInt,
        entry_id -> BigInt,
        slot_start -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(account_tokens -> users (user_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(idempotency_keys -> users (user_id));
diesel::joinable!(therapists -> users (user_id));
diesel::joinable!(therapist_techniques -> therapists (therapist_id));
diesel::joinable!(therapist_techniques -> techniques (technique_slug));
diesel::joinable!(services -> therapists (therapist_id));
diesel::joinable!(therapist_photos -> therapists (therapist_id));
diesel::joinable!(licenses -> therapists (therapist_id));
diesel::joinable!(training_records -> therapists (therapist_id));
diesel::joinable!(weekly_hours -> therapists (therapist_id));
diesel::joinable!(time_off -> therapists (therapist_id));
diesel::joinable!(booking_policies -> therapists (therapist_id));
diesel::joinable!(appointments -> therapists (therapist_id));
diesel::joinable!(appointments -> services (service_id));
diesel::joinable!(screening_access_log -> appointments (appointment_id));
diesel::joinable!(screening_access_log -> users (reader_user_id));
diesel::joinable!(session_notes -> appointments (appointment_id));
diesel::joinable!(session_notes -> users (author_user_id));
diesel::joinable!(waitlist_entries -> users (client_id));
diesel::joinable!(waitlist_entries -> therapists (therapist_id));
diesel::joinable!(waitlist_entries -> services (service_id));
diesel::joinable!(waitlist_announcements -> waitlist_entries (entry_id));
diesel::joinable!(reviews -> appointments (appointment_id));
diesel::joinable!(reviews -> therapists (therapist_id));
diesel::joinable!(review_replies -> reviews (review_id));
diesel::joinable!(courses -> therapists (therapist_id));
diesel::joinable!(courses -> services (service_id));
diesel::joinable!(course_sessions -> courses (course_id));
diesel::joinable!(course_sessions -> appointments (appointment_id));

diesel::joinable!(totp_secrets -> users (user_id));
diesel::joinable!(totp_recovery_codes -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    totp_secrets,
    totp_recovery_codes,
    account_tokens,
    sessions,
    api_tokens,
    login_attempts,
    techniques,
    therapists,
    therapist_photos,
    therapist_techniques,
    services,
    licenses,
    training_records,
    weekly_hours,
    time_off,
    booking_policies,
    appointments,
    screening_access_log,
    session_notes,
    reviews,
    review_replies,
    courses,
    course_sessions,
    audit_log,
    outbox,
    waitlist_entries,
    waitlist_checks,
    waitlist_announcements,
    idempotency_keys,
);

// SQLite only: the stamp counter (PostgreSQL takes stamps from `directory_stamp_seq`, and its
// `directory_state` row has only the id). Read through the DSL so that the statement is prepared
// once per connection: the directory probes it before every search.
diesel::table! {
    directory_state (id) {
        id -> Integer,
        version -> BigInt,
    }
}

diesel::table! {
    /// Free days known ahead, per therapist at one schedule version (`search::free_days`).
    free_day_maps (therapist_id) {
        therapist_id -> BigInt,
        schedule_version -> BigInt,
        base -> Date,
        notice_hours -> Integer,
        advance_days -> Integer,
        last_starts -> Binary,
        first_starts -> Binary,
        on_quarters -> Bool,
    }
}

diesel::table! {
    directory_removed (therapist_id, stamp) {
        therapist_id -> BigInt,
        stamp -> BigInt,
    }
}
