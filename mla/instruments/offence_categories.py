"""The 32 categories of offences that European mutual-recognition instruments list as
exempt from the double-criminality check when punishable in the issuing State by a
maximum of at least three years (Framework Decision 2002/584/JHA, Art. 2(2); Directive
2014/41/EU, Annex D). Codes only: each instrument's labels carry the wording.
"""

LISTED_OFFENCE_CATEGORIES = (
    "criminal_organisation",
    "terrorism",
    "trafficking_human_beings",
    "child_sexual_exploitation",
    "drug_trafficking",
    "weapons_trafficking",
    "corruption",
    "fraud",
    "money_laundering",
    "counterfeiting_currency",
    "computer_crime",
    "environmental_crime",
    "unauthorised_entry_residence",
    "murder_grievous_bodily_injury",
    "organ_trafficking",
    "kidnapping_hostage_taking",
    "racism_xenophobia",
    "organised_armed_robbery",
    "cultural_goods_trafficking",
    "swindling",
    "racketeering_extortion",
    "counterfeiting_piracy_products",
    "forgery_administrative_documents",
    "forgery_means_of_payment",
    "hormonal_substances",
    "nuclear_radioactive_materials",
    "stolen_vehicles",
    "rape",
    "arson",
    "icc_crimes",
    "unlawful_seizure_aircraft_ships",
    "sabotage",
)
