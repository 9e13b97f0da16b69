"""Harmful-request prompt sets (all-unsafe collections of instructions an assistant should refuse)."""
from __future__ import annotations

from typing import Iterator

from ..registry import register
from ..schema import Mapping, Record, Source, Upstream, read_csv, user


@register
class StrongReject(Source):
    name = "strongreject"
    directory = "strongreject"
    license = "MIT"
    upstream = Upstream("github:alexandrasouly/strongreject", "",
                        "strongreject_dataset/strongreject_dataset.csv")
    description = "StrongREJECT forbidden prompts (313), 6 categories."
    crosswalk = (
        Mapping("Non-violent crimes", ("unethical_nonviolent",),
                "StrongREJECT's non-violent crimes are fraud, theft, hacking; cyber items are kept "
                "in unethical_nonviolent because the label does not separate them."),
        Mapping("Violence", ("weapons_drugs_physical_harm",)),
        Mapping("Disinformation and deception", ("misinformation",)),
        Mapping("Hate, harassment and discrimination", ("hate_harassment",)),
        Mapping("Illegal goods and services", ("weapons_drugs_physical_harm",),
                "Mostly drugs and weapons purchase/manufacture."),
        Mapping("Sexual content", ("sexual_content",)),
    )

    def records(self) -> Iterator[Record]:
        for i, row in enumerate(read_csv(self.file("strongreject_dataset.csv"))):
            yield self.record(str(i), [user(row["forbidden_prompt"])], "unsafe",
                              categories=self.map_label(row["category"]),
                              original_labels={"category": row["category"], "source": row["source"]})
