-- Where and how to reach: `in_studio` (shown on profiles) follows the studio's address from now
-- on (`services::profile::update_profile`). Therapists saved before addresses existed have none
-- yet, so none of them takes in-studio bookings until they enter one.
UPDATE therapists SET in_studio = (address IS NOT NULL);
