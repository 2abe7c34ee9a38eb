//! The technique catalogue the app ships with, with what each is not for. The techniques are those
//! the article "Does Massage Help Back Pain" names (Swedish, deep tissue, Ayurvedic and shiatsu;
//! hot stone, trigger point and prenatal among its best types for back pain; gluteal massage for
//! sciatica and a bruise in the buttocks); each `not_for` sums up the questionnaire in
//! screening-v1.toml for that technique.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Technique {
    pub slug: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub not_for: &'static str,
}

pub const CATALOGUE: &[Technique] = &[
    Technique {
        slug: "swedish",
        name: "Swedish",
        description: "Long, flowing strokes of varying pressure with some kneading and light tapping. The gentle default, and an option during pregnancy.",
        not_for: "Open sores or skin infections; unhealed fractures; fever. Ask your practitioner first if you take blood thinners or have severe osteoporosis.",
    },
    Technique {
        slug: "deep-tissue",
        name: "Deep tissue",
        description: "Slow, firm pressure that works on knots and trigger points in muscle and connective tissue. Often used for chronic pain.",
        not_for: "Pregnancy; blood clotting disorders or blood thinners without a doctor's clearance; osteoporosis; most of the conditions on the screening list.",
    },
    Technique {
        slug: "shiatsu",
        name: "Shiatsu",
        description: "A Japanese pressure-point style using fingers, thumbs and palms, offered for back pain and relaxation.",
        not_for: "Unhealed fractures, fever, open sores; ask your practitioner first with blood thinners or severe osteoporosis.",
    },
    Technique {
        slug: "hot-stone",
        name: "Hot stone / Himalayan salt stone",
        description: "Heated stones placed on and moved over the body to warm and relax the muscles.",
        not_for: "Impaired sensitivity to heat or cold (such as diabetic neuropathy or multiple sclerosis), inflammatory conditions such as a rheumatoid arthritis flare-up, and pregnancy.",
    },
    Technique {
        slug: "trigger-point",
        name: "Trigger point therapy",
        description: "Focused, sustained pressure on tight knots (trigger points) that can refer pain elsewhere.",
        not_for: "Blood clotting disorders without a doctor's clearance; unhealed fractures; open sores.",
    },
    Technique {
        slug: "prenatal",
        name: "Prenatal",
        description: "Massage for pregnancy by a therapist trained for it, with positioning and pressure adapted to each stage.",
        not_for: "Anyone whose therapist is not trained in prenatal massage; no labour-inducing pressure points or essential oils.",
    },
    Technique {
        slug: "ayurvedic",
        name: "Ayurvedic",
        description: "A traditional style from India, usually with warm herbal oils and rhythmic strokes.",
        not_for: "Open sores or skin infections; fever; unhealed fractures.",
    },
    Technique {
        slug: "gluteal",
        name: "Gluteal (butt) massage",
        description: "Relaxes the gluteal muscles; may help with sciatica and a bruise in the buttocks.",
        not_for: "Unhealed fractures of the pelvis or hip; numbness or weakness in the legs or around the genitals (see a healthcare provider first).",
    },
];

pub fn find(slug: &str) -> Option<&'static Technique> {
    CATALOGUE.iter().find(|t| t.slug == slug)
}

/// The bits of `therapists.technique_mask` for these techniques: bit i is the catalogue's i-th
/// technique (`techniques.sort_order`, see `models::technique::sync_catalogue`). Unknown slugs
/// add nothing.
pub fn mask_of<'a>(slugs: impl IntoIterator<Item = &'a str>) -> i64 {
    slugs
        .into_iter()
        .filter_map(|s| CATALOGUE.iter().position(|t| t.slug == s))
        .fold(0, |m, i| m | (1i64 << i))
}

#[cfg(test)]
mod mask_tests {
    use super::*;

    #[test]
    fn mask_bits_follow_the_catalogue_and_fit_a_bigint() {
        assert!(CATALOGUE.len() < 63);
        assert_eq!(mask_of([CATALOGUE[0].slug]), 1);
        assert_eq!(
            mask_of([CATALOGUE[2].slug, CATALOGUE[0].slug, "nonsense"]),
            0b101
        );
        assert_eq!(mask_of([]), 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_unique_and_findable() {
        for (i, t) in CATALOGUE.iter().enumerate() {
            assert_eq!(find(t.slug), Some(t));
            assert!(CATALOGUE[i + 1..].iter().all(|o| o.slug != t.slug));
        }
        assert!(find("reiki").is_none());
    }
}
