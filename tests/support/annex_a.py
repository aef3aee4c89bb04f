"""The headings of Directive 2014/41/EU, Annex A (OJ L 130, 1.5.2014), as the test expects
to read them in the printed EIO: written out here, independently of the label catalogue, so
that a catalogue edit that strays from the Annex fails a test."""

ANNEX_A_SECTION_HEADINGS = (
    "SECTION A",
    "SECTION B",
    "Urgency",
    "SECTION C",
    "Investigative measure(s) to be carried out",
    "SECTION D",
    "Relation to an earlier EIO",
    "SECTION E",
    "Identity of the person concerned",
    "SECTION F",
    "Type of proceedings for which the EIO is issued",
    "SECTION G",
    "Grounds for issuing the EIO",
    "SECTION H",
    "Additional requirements for certain measures",
    "SECTION I",
    "Formalities and procedures requested for the execution",
    "SECTION J",
    "Legal remedies",
    "SECTION K",
    "Details of the authority that issued the EIO",
    "SECTION L",
    "Details of the judicial authority that validated the EIO",
)

ANNEX_A_H_BLOCKS = (
    "H1 Temporary transfer of persons held in custody",
    "H2 Videoconference or telephone conference or other audiovisual transmission",
    "H3 Provisional measures",
    "H4 Information on bank and other financial accounts",
    "H5 Information on banking and other financial operations",
    "H6 Investigative measures implying the gathering of evidence in real time, "
    "continuously and over a certain period of time",
    "H7 Interception of telecommunications",
)

ANNEX_A_SUB_HEADINGS = (
    "Evidence being concealed, destroyed or altered",
    "Signature of the issuing authority and/or its representative certifying the content "
    "of the EIO as accurate and correct",
    "Post held (title/grade)",
    "Official stamp (if available)",
    "Fax No",
    "Signature and details of the validating authority",
)

ANNEX_A_CERTIFICATION = (
    "This EIO has been issued by a competent authority. The issuing authority certifies that "
    "the issuing of this EIO is necessary and proportionate for the purpose of the "
    "proceedings specified within it taking into account the rights of the suspected or "
    "accused person and that the investigative measures requested could have been ordered "
    "under the same conditions in a similar domestic case. I request that the investigative "
    "measure or measures specified below be carried out taking due account of the "
    "confidentiality of the investigation and that the evidence obtained as a result of the "
    "execution of the EIO be transferred."
)
