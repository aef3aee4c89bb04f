"""Every label key a declaration uses, as the catalogues and their tests read them."""

from collections.abc import Iterator

from mla.instruments.declarations.schema import Field, Group, InstrumentDeclaration
from mla.instruments.labels import SIGNATURE_PARTS


def _field_labels(field: Field) -> Iterator[str]:
    yield field.label
    if field.help:
        yield field.help
    for code in field.choices:
        yield f"{field.label}.{code}"


def label_keys(declaration: InstrumentDeclaration) -> Iterator[str]:
    yield declaration.title
    yield declaration.channel
    if declaration.preamble:
        yield declaration.preamble
    for rule in declaration.deadlines:
        yield rule.label
    for section in declaration.sections:
        yield section.title
        if section.help:
            yield section.help
        for block in section.blocks:
            yield block.title
        if section.signature:
            yield section.signature
            yield from (f"{section.signature}.{part}" for part in SIGNATURE_PARTS)
        for item in section.items:
            if isinstance(item, Group):
                yield item.label
                yield f"{item.label}.row"
                for field in item.fields:
                    yield from _field_labels(field)
            else:
                yield from _field_labels(item)
