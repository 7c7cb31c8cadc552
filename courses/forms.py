"""Portal forms (discussion) and admin forms (quiz questions)."""

from __future__ import annotations

import json

from django import forms

from courses.grading import validate_question
from courses.models import Question
from courses.services import MAX_POST_LENGTH


class ThreadForm(forms.Form):
    title = forms.CharField(
        max_length=200,
        label="Topic",
        widget=forms.TextInput(attrs={"placeholder": "What is your question about?"}),
    )
    body = forms.CharField(
        max_length=MAX_POST_LENGTH,
        label="Message",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Markdown is supported. HTML is removed.",
    )


class PostForm(forms.Form):
    body = forms.CharField(
        max_length=MAX_POST_LENGTH,
        label="Reply",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Markdown is supported. HTML is removed.",
    )


class QuestionAdminForm(forms.ModelForm):
    """Choices one per line; correct as 0-based indexes separated by commas."""

    choices_text = forms.CharField(
        label="Choices",
        widget=forms.Textarea(attrs={"rows": 5, "cols": 80}),
        help_text="One choice per line. Ordering questions: list them in the right order.",
    )
    correct_text = forms.CharField(
        label="Correct",
        max_length=200,
        help_text="0-based indexes of the right choices, e.g. 1 or 0, 2. "
        "Ordering: 0, 1, 2, … (the choices are already in order).",
    )

    class Meta:
        model = Question
        fields = ("order", "kind", "text", "choices_text", "correct_text", "explanation")
        widgets = {
            "text": forms.Textarea(attrs={"rows": 2, "cols": 80}),
            "explanation": forms.Textarea(attrs={"rows": 3, "cols": 80}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["choices_text"] = "\n".join(self.instance.choices)
            self.initial["correct_text"] = ", ".join(str(i) for i in self.instance.correct)

    def clean(self):
        data = super().clean()
        choices = [
            line.strip() for line in (data.get("choices_text") or "").splitlines() if line.strip()
        ]
        try:
            correct = [
                int(part)
                for part in (data.get("correct_text") or "").replace(" ", "").split(",")
                if part
            ]
        except ValueError:
            raise forms.ValidationError(
                "Correct must be whole numbers separated by commas."
            ) from None
        problems = validate_question(kind=data.get("kind") or "", choices=choices, correct=correct)
        if problems:
            raise forms.ValidationError([p[0].upper() + p[1:] + "." for p in problems])
        data["choices"], data["correct"] = choices, correct
        return data

    def save(self, commit=True):
        self.instance.choices = self.cleaned_data["choices"]
        self.instance.correct = self.cleaned_data["correct"]
        return super().save(commit=commit)


def pretty_json(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)
