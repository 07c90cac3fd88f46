//! The configurations of the two demo towns (their `tenant.toml` holds the
//! same, as TOML), checked by the tests.

/// Villeneuve: the seed town. Meals booked the working day before at 9:00
/// (Wednesdays are not counted), late bookings +50 %; the evening
/// périscolaire by Tuesday 23:59 for the next week; Wednesdays with places
/// by age; the holiday centre 15 days ahead, cancelled 8 days ahead.
pub const VILLENEUVE: &str = r#"{
  "activities": [
    { "id": "cantine", "label": "Restauration scolaire", "tariff": "cantine",
      "runs_on": "jours_scolaires", "weekdays": ["lundi", "mardi", "jeudi", "vendredi"],
      "capacity": 120,
      "booking_deadline": { "rule": "jours_avant", "days": 1, "counting": "ouvres", "skip_weekdays": ["mercredi"], "time": "09:00" },
      "cancel_deadline": { "rule": "identique" },
      "late_surcharge_percent": 50, "waiting_list": true },
    { "id": "soir", "label": "Accueil du soir", "tariff": "periscolaire",
      "runs_on": "jours_scolaires", "weekdays": ["lundi", "mardi", "jeudi", "vendredi"],
      "capacity": 40,
      "booking_deadline": { "rule": "semaine_precedente", "weekday": "mardi", "time": "23:59" },
      "cancel_deadline": { "rule": "jours_avant", "days": 1, "counting": "calendaires", "time": "18:00" },
      "waiting_list": true },
    { "id": "mercredi", "label": "Mercredi loisirs", "tariff": "periscolaire",
      "runs_on": "jours_scolaires", "weekdays": ["mercredi"],
      "capacity": 60,
      "age_groups": [
        { "label": "3 à 5 ans", "min_age": 3, "max_age": 5, "capacity": 24 },
        { "label": "6 à 14 ans", "min_age": 6, "max_age": 14, "capacity": 36 } ],
      "booking_deadline": { "rule": "jour_precedent", "weekday": "vendredi", "time": "09:00" },
      "waiting_list": true },
    { "id": "vacances", "label": "Centre de loisirs (vacances)",
      "runs_on": "vacances", "weekdays": ["lundi", "mardi", "mercredi", "jeudi", "vendredi"],
      "capacity": 80,
      "booking_deadline": { "rule": "jours_avant", "days": 15, "counting": "calendaires", "time": "12:00" },
      "cancel_deadline": { "rule": "jours_avant", "days": 8, "counting": "calendaires", "time": "12:00" },
      "waiting_list": true }
  ],
  "school_holidays": [
    { "from": "2026-07-04", "to": "2026-08-31", "label": "Vacances d'été" },
    { "from": "2026-10-17", "to": "2026-11-01", "label": "Vacances de la Toussaint" },
    { "from": "2026-12-19", "to": "2027-01-03", "label": "Vacances de Noël" },
    { "from": "2027-02-06", "to": "2027-02-21", "label": "Vacances d'hiver" },
    { "from": "2027-04-03", "to": "2027-04-18", "label": "Vacances de printemps" },
    { "from": "2027-07-03", "to": "2027-08-31", "label": "Vacances d'été" }
  ],
  "closures": [
    { "from": "2026-06-05", "to": "2026-06-05", "label": "Journée pédagogique" },
    { "from": "2027-05-07", "to": "2027-05-07", "label": "Pont de l'Ascension" }
  ],
  "few_places": 5,
  "weeks_ahead": 12
}"#;

/// Saint-Martin: Alsace-Moselle holidays; meals by Thursday 12:00 of the
/// week before, cancelled two working days ahead at 10:00, no late
/// booking, no waiting list; the garderie until 18:00 the day before,
/// cancelled any time, late bookings +30 %.
pub const SAINT_MARTIN: &str = r#"{
  "activities": [
    { "id": "cantine", "label": "Cantine", "tariff": "cantine",
      "runs_on": "jours_scolaires", "weekdays": ["lundi", "mardi", "jeudi", "vendredi"],
      "capacity": 80,
      "booking_deadline": { "rule": "semaine_precedente", "weekday": "jeudi", "time": "12:00" },
      "cancel_deadline": { "rule": "jours_avant", "days": 2, "counting": "ouvres", "time": "10:00" },
      "waiting_list": false },
    { "id": "garderie", "label": "Garderie du matin", "tariff": "garderie",
      "runs_on": "tous", "weekdays": ["lundi", "mardi", "mercredi", "jeudi", "vendredi"],
      "capacity": 30,
      "booking_deadline": { "rule": "jours_avant", "days": 1, "counting": "calendaires", "time": "18:00" },
      "cancel_deadline": { "rule": "aucun" },
      "late_surcharge_percent": 30, "waiting_list": true }
  ],
  "school_holidays": [
    { "from": "2026-07-04", "to": "2026-08-31", "label": "Vacances d'été" },
    { "from": "2026-10-17", "to": "2026-11-01", "label": "Vacances de la Toussaint" },
    { "from": "2026-12-19", "to": "2027-01-03", "label": "Vacances de Noël" },
    { "from": "2027-02-20", "to": "2027-03-07", "label": "Vacances d'hiver" },
    { "from": "2027-04-17", "to": "2027-05-02", "label": "Vacances de printemps" },
    { "from": "2027-07-03", "to": "2027-08-31", "label": "Vacances d'été" }
  ],
  "closures": [
    { "from": "2027-01-15", "to": "2027-01-15", "label": "Formation du personnel", "activity": "garderie" }
  ],
  "alsace_moselle": true,
  "few_places": 3,
  "weeks_ahead": 8
}"#;
