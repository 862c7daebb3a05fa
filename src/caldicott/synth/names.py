"""Names of people living in the UK, by origin, with realistic frequency.

Most names come from Faker's locale data (read once, never through Faker's slow
per-call API): en_GB surnames carry ONS frequencies, en_GB given names are in
popularity order (weighted by a Zipf law on rank), the other locales are drawn
uniformly. Origins Faker lacks in Latin script (Arabic, Somali, Eritrean,
Afghan, Kurdish/Iranian, Albanian, Ukrainian, Bangladeshi) are small hand lists
written as UK records transliterate them; a name written ``A/B/C`` has spelling
variants (the first is the commonest), which the query noise uses.

The origin mix is weighted like the UK population, with more of the groups
whose tracing the seeds are about (recent migrants), not a census.
"""

from __future__ import annotations

import importlib
import re
from bisect import bisect
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from random import Random

# What the register accepts as a name (records.check_record): letters of any
# script and the joiners real names use. Faker's lists hold a stray or two.
_NAME = re.compile(r"^[^\W\d_](?:[^\W\d_]|[ '\u2019.-])*$")


def is_name(text: str) -> bool:
    """Whether the register would accept ``text`` as a name."""
    return bool(_NAME.match(text))


class Weighted:
    """A fast weighted choice over a fixed list (bisect on cumulative weights)."""

    __slots__ = ("_items", "pick")

    def __init__(self, items: list[str], weights: list[float] | None = None) -> None:
        self._items = items
        cumulative = list(accumulate(weights or [1.0] * len(items)))
        total = cumulative[-1]

        # A closure over locals: this is called ~10 times per person, millions of times.
        def pick(rng: Random) -> str:
            return items[bisect(cumulative, rng.random() * total)]

        self.pick = pick

    def __len__(self) -> int:
        return len(self._items)


def zipf(items: list[str], exponent: float = 1.0, offset: float = 3.0) -> Weighted:
    """Items in popularity order, weighted 1/(rank+offset)^exponent (names are Zipfian)."""
    return Weighted(items, [1.0 / (rank + offset) ** exponent for rank in range(len(items))])


def _faker(locale: str, attribute: str) -> list[str]:
    provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
    if not hasattr(provider, attribute):  # ungendered list (lt_LT): split on the ending
        female = attribute.endswith("female")
        return [n for n in provider.first_names if n.endswith(("a", "ė")) == female and is_name(n)]
    return [name for name in getattr(provider, attribute) if is_name(name)]


# --- hand lists: origins Faker lacks in Latin script -----------------------------

_MUSLIM_MALE = ("Mohammed/Muhammad/Mohamed/Mohammad Ahmed/Ahmad Ali/Aly Hassan/Hasan "
                "Hussein/Hussain/Husain Omar/Umar Ibrahim/Ebrahim Yusuf/Yousef/Youssef "
                "Abdullah/Abdallah Mustafa/Mostafa Mahmoud/Mahmood/Mahmud Khalid/Khaled "
                "Tariq/Tarek Bilal Hamza/Hamzah Imran Adam Zain/Zayn Idris/Idrees Samir/Sameer "
                "Karim/Kareem Rashid/Rasheed Osman/Usman/Othman Jamal Nasser/Nasir Walid/Waleed")
_MUSLIM_FEMALE = ("Fatima/Fatimah/Fatma Aisha/Ayesha/Aysha Mariam/Maryam/Miriam "
                  "Khadija/Khadijah Zainab/Zaynab Amina/Aminah Noor/Nur Hana/Hanna Sara/Sarah "
                  "Leila/Layla/Laila Yasmin/Yasmeen/Jasmine Huda Rania Salma Samira/Sameera "
                  "Nadia/Nadiya Safiya/Safia Rukhsana Shabana Asma")
_ORIGIN_LISTS: dict[str, tuple[str, str, str]] = {
    # origin: (male given names, female given names, family names)
    "arab": (_MUSLIM_MALE, _MUSLIM_FEMALE,
             "Al-Ahmad Haddad Khalil Saleh Nasser/Nassar Hamdan Darwish Abbas Mansour/Mansur "
             "Ibrahim Youssef/Yusuf Othman/Osman Hamid/Hamed Jaber Khoury Abdelrahman "
             "Elsayed/El-Sayed Osman Mohamed/Mohammed Idris Suleiman/Sulaiman Hussein/Hussain"),
    "south_asian_muslim": (_MUSLIM_MALE + " Rahim Shahid Asif Faisal Arif Zubair Sajid",
                           _MUSLIM_FEMALE + " Parveen/Parvin Nasreen/Nasrin Shazia Rubina",
                           "Khan Hussain/Hussein Ahmed/Ahmad Ali Shah Iqbal Akhtar/Akhter Butt "
                           "Malik Mahmood/Mahmud Rashid Aslam Raza Qureshi/Qureshy Chaudhry/"
                           "Chaudhary/Choudhury Anwar Javed Bibi Mirza Sheikh/Shaikh"),
    "bangladeshi": ("Mohammed/Muhammad Abdul Shahid Rahim Jamal Anwar Kamal Habib Faruk/Farooq "
                    "Mizanur Ashraf Nazrul Shafiqul Rafiq/Rafique Jahangir",
                    "Shirin/Shireen Nasima Rahima Taslima Rokeya Salma Ruksana Jahanara "
                    "Shamima Fahmida Nazma Hasina Sultana",
                    "Miah/Mia Begum Khatun Uddin Rahman Islam Hossain/Hussain Chowdhury/Choudhury "
                    "Ali Ahmed Alam Hoque/Haque/Huq Sarkar Karim Akter/Akhtar"),
    "somali": ("Abdi/Abdy Mohamed/Mohammed Ahmed Hassan Abdullahi Yusuf/Yussuf Ali Omar "
               "Abdirahman Mahad Farah Ismail Osman Liban Guled",
               "Hodan Fadumo/Faduma/Fatima Amina Hawa/Hawo Sahra/Sahro Ayan Deeqa Hibo Ifrah "
               "Nasra Sagal Ubah Khadra Asha",
               "Mohamed/Mohammed Ahmed Hassan Ali Abdi Farah Yusuf Warsame Omar Osman Jama "
               "Hussein Ismail Nur/Noor Abdullahi Egal Aden/Adan"),
    "eritrean": ("Tesfaye/Tesfay Yonas/Yonatan Dawit/Dawitt Samuel Filmon Haile/Hailay "
                 "Merhawi Tekle Berhane/Berhan Mulugeta Robel Senai Henok Yohannes/Johannes",
                 "Helen Selam Saba Ruth Senait/Senayt Mebrat Luwam Eden Yordanos Hiwet "
                 "Lidya/Lydia Tsega Semhar Winta",
                 "Tesfay/Tesfaye Haile/Hailay Kidane Ghebremariam/Gebremariam Tekle Berhe "
                 "Ghebreyesus/Gebreyesus Mehari Tewelde Abraha Woldu Habte Asmerom Negash Yemane"),
    "afghan": ("Ahmad/Ahmed Mohammad/Mohammed Abdul Hamid Rahmatullah Zabihullah Najib "
               "Farid/Fareed Jawad Naveed/Navid Sayed/Sayyid Hamed/Hamid Wahid Ismail Zia",
               "Fatima Maryam/Mariam Zahra Farzana Nargis Shakila Parwana Hasina Zarghona "
               "Freshta/Fereshteh Mina Sodaba Marzia",
               "Ahmadi Mohammadi/Mohamadi Hakimi Rahimi Karimi Sultani Noori/Nuri Stanikzai "
               "Popal Hashimi Amiri Wardak Safi Jalali Azizi Rahmani Sharifi"),
    "kurdish_iranian": ("Reza Ali Hossein/Hussein Mohammad/Mohammed Mehdi/Mahdi Amir Hamid Saman "
                        "Karwan Rebin Dilan Aram Shwan Bahman Babak Dariush/Dariusz",
                        "Zahra Maryam Fatemeh/Fatima Shirin Nasrin Leila/Layla Parisa Shadi Roya "
                        "Nazanin Sara Zhila Bahar Niloufar/Nilufar",
                        "Ahmadi Hosseini Rezaei/Rezaie Moradi Karimi Jafari/Jafary Mohammadi "
                        "Rahimi Hassani Kazemi Abdullah Mahmoud Rasul/Rasool Aziz Salih"),
    "albanian": ("Arben Besnik Dritan Ermal Florian Gentian Ilir Klodian Arjan Endrit Elvis "
                 "Artan Bledar Erion Kristian",
                 "Anila Blerta Elira Ermira Fatjona Jonida Klea Mirela Ornela Xhesika "
                 "Rezarta Eriola Teuta Valbona",
                 "Hoxha/Hoxhaj Shehu Dervishi Krasniqi Gashi Berisha Leka Kola Marku Prifti "
                 "Cela Duka Basha Rama Hysa Lika"),
    "ukrainian": ("Oleksandr/Aleksandr/Olexandr Serhii/Serhiy/Sergei Andrii/Andriy Dmytro/Dmitro "
                  "Volodymyr Mykola Yurii/Yuriy Ivan Oleh/Oleg Vasyl Bohdan Taras Maksym/Maxim",
                  "Olena/Elena Tetiana/Tetyana/Tatiana Iryna/Irina Nataliia/Natalia Yuliia/Yulia/"
                  "Iuliia Oksana Svitlana/Svetlana Kateryna/Kateryna Halyna/Galina Anastasiia/"
                  "Anastasia Viktoriia/Viktoria Mariia/Maria",
                  "Shevchenko Kovalenko Bondarenko Tkachenko Kravchenko/Kravchenco Melnyk/Melnik "
                  "Koval Boyko/Boiko Oliynyk/Oliinyk Lysenko Marchenko Rudenko Savchenko "
                  "Petrenko Moroz Kovalchuk"),
}


def _variants(spec: str) -> list[tuple[str, ...]]:
    return [tuple(name.split("/")) for name in spec.split()]


@dataclass(frozen=True)
class Origin:
    """Where a person's names come from, and how they tend to live here."""

    name: str
    male: Weighted
    female: Weighted
    family: Weighted
    migrant: bool
    female_family: dict[str, str] | None = None  # Polish -ski → -ska and the like


_SPELLING_SHARES = (0.6, 0.25, 0.1, 0.05)


def _spelled(spec: str) -> Weighted:
    # Zipf over names; within a name, the commoner spellings more often.
    items: list[str] = []
    weights: list[float] = []
    for rank, group in enumerate(_variants(spec)):
        shares = _SPELLING_SHARES[: len(group)]
        for spelling, share in zip(group, shares, strict=False):
            items.append(spelling)
            weights.append(share / sum(shares) / (rank + 3) ** 0.7)
    return Weighted(items, weights)


def _hand_origin(name: str) -> Origin:
    male, female, family = (_spelled(part) for part in _ORIGIN_LISTS[name])
    return Origin(name, male, female, family, migrant=True)


def _locale_origin(name: str, given_locale: str, family_locale: str | None = None,
                   family_attr: str = "last_names") -> Origin:
    family = _faker(family_locale or given_locale, family_attr)
    feminine = None
    if name == "lithuanian":  # a married woman's form: Kazlauskas → Kazlauskienė
        feminine = {n: n[:-2] + "ienė" for n in family if n.endswith(("as", "is", "ys"))}
    return Origin(name, Weighted(_faker(given_locale, "first_names_male")),
                  Weighted(_faker(given_locale, "first_names_female")),
                  Weighted(family), migrant=True, female_family=feminine)


def _british() -> Origin:
    provider = importlib.import_module("faker.providers.person.en_GB").Provider
    surnames = {name: weight for name, weight in provider.last_names.items() if is_name(name)}
    return Origin("british", zipf(_faker("en_GB", "first_names_male")),
                  zipf(_faker("en_GB", "first_names_female")),
                  Weighted(list(surnames), list(surnames.values())), migrant=False)


def _polish() -> Origin:
    family = _faker("pl_PL", "male_last_names") + _faker("pl_PL", "unisex_last_names")
    feminine = {n: n[:-1] + "a" for n in family if n.endswith(("ski", "cki", "dzki"))}
    return Origin("polish", Weighted(_faker("pl_PL", "first_names_male")),
                  Weighted(_faker("pl_PL", "first_names_female")), Weighted(family), True, feminine)


def _chinese() -> Origin:
    given = Weighted(_faker("zh_CN", "first_romanized_names"))
    return Origin("chinese", given, given, Weighted(_faker("zh_CN", "last_romanized_names")), True)


def _nigerian() -> Origin:
    def merged(attr: str) -> Weighted:
        locales = ("en_NG", "yo_NG", "ig_NG", "ha_NG")
        return Weighted([name for loc in locales for name in _faker(loc, attr)])
    return Origin("nigerian", merged("first_names_male"), merged("first_names_female"),
                  merged("last_names"), True)


# (origin, share of the register). Shares are illustrative, not census figures.
_MIX: tuple[tuple[str, float], ...] = (
    ("british", 0.735), ("irish", 0.02), ("polish", 0.025), ("romanian", 0.02),
    ("lithuanian", 0.006), ("indian", 0.03), ("south_asian_muslim", 0.03),
    ("bangladeshi", 0.01), ("nigerian", 0.018), ("ghanaian", 0.006), ("kenyan", 0.004),
    ("somali", 0.006), ("eritrean", 0.004), ("afghan", 0.005), ("arab", 0.009),
    ("kurdish_iranian", 0.005), ("albanian", 0.005), ("ukrainian", 0.005),
    ("chinese", 0.008), ("vietnamese", 0.003), ("italian", 0.007), ("portuguese", 0.007),
    ("spanish", 0.005), ("french", 0.003), ("german", 0.003), ("turkish", 0.004),
    ("hungarian", 0.003), ("slovak", 0.003), ("latvian", 0.002),
)
_LOCALES = {
    "irish": ("en_IE",), "romanian": ("ro_RO",), "lithuanian": ("lt_LT",),
    "indian": ("en_IN",), "ghanaian": ("tw_GH",), "kenyan": ("en_KE",),
    "vietnamese": ("vi_VN",), "italian": ("it_IT",), "portuguese": ("pt_PT",),
    "spanish": ("es_ES",), "french": ("fr_FR",), "german": ("de_DE",), "turkish": ("tr_TR",),
    "hungarian": ("hu_HU",), "slovak": ("sk_SK", "sk_SK", "last_names_male"),
    "latvian": ("lv_LV", "lv_LV", "last_names_male"),
}
_BUILDERS = {"british": _british, "polish": _polish, "chinese": _chinese, "nigerian": _nigerian}


def _origin(name: str) -> Origin:
    if name in _BUILDERS:
        return _BUILDERS[name]()
    if name in _ORIGIN_LISTS:
        return _hand_origin(name)
    locale, *rest = _LOCALES[name]
    return _locale_origin(name, locale, *rest)


@cache
def origins() -> tuple[list[Origin], Weighted]:
    """Every origin, and a weighted chooser of origin names (built once per process)."""
    table = [_origin(name) for name, _ in _MIX]
    return table, Weighted([o.name for o in table], [share for _, share in _MIX])


# Spellings of the same British name that records mix up.
_BRITISH_VARIANTS = ("Stephen/Steven Catherine/Katherine/Kathryn Philip/Phillip Jon/John "
                     "Claire/Clare Rachel/Rachael Geoffrey/Jeffrey Sean/Shaun/Shawn "
                     "Lindsay/Lindsey Ann/Anne Carl/Karl Mathew/Matthew Louise/Louisa "
                     "Leanne/Lianne Vicky/Vicki Nicola/Nichola Jayne/Jane Marc/Mark "
                     "Thompson/Thomson Davis/Davies Reid/Reed/Read Macdonald/McDonald "
                     "Mackenzie/McKenzie Philips/Phillips Matthews/Mathews Smyth/Smith "
                     "Brown/Browne Clarke/Clark Gray/Grey Hughes/Hewes Stevens/Stephens "
                     "Gibson/Gibbson Lloyd/Loyd Neal/Neale/Neil Dickson/Dixon")


@cache
def spelling_variants() -> dict[str, tuple[str, ...]]:
    """Each name with known other spellings → those (Mohammed → Muhammad, Mohamed, …)."""
    variants: dict[str, tuple[str, ...]] = {}
    specs = [part for spec in _ORIGIN_LISTS.values() for part in spec]
    for part in [*specs, _BRITISH_VARIANTS]:
        for group in _variants(part):
                for name in group:
                    others = tuple(v for v in group if v != name)
                    if others:
                        variants.setdefault(name, others)
    return variants
