#!/usr/bin/env python3
"""Writes clients.csv, contacts.csv, history.csv and deals.csv of N rows each (default 20,000)
into the current folder: the files of docs/performance.md, "Importing contacts, history and
deals". Import them in that order into a crmd with a manager `ivanov`:
    crmctl import clients clients.csv; crmctl import contacts contacts.csv
    crmctl import interactions history.csv; crmctl import deals deals.csv
"""
import sys

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20000


def phone(prefix, i):
    return f"+7 {prefix} {i // 10000:03d}-{i // 100 % 100:02d}-{i % 100:02d}"


def day(i):
    return f"{1 + i % 28:02d}.{1 + i % 12:02d}.2025"


FILES = {
    "clients.csv": ("Название;Телефон;Менеджер", lambda i: f"ООО «Клиент {i}»;{phone(900, i)};ivanov"),
    "contacts.csv": ("Клиент;ФИО;Телефон;Email", lambda i: f"{phone(900, i)};Контакт {i};{phone(950, i)};c{i}@example.ru"),
    "history.csv": (
        "ID клиента;Тип;Дата;Автор;Тема;Результат",
        lambda i: f"{i + 1};Звонок;{day(i)} 10:{i % 60:02d};ivanov;Звонок;Поговорили",
    ),
    "deals.csv": ("ID клиента;Название;Сумма;Статус;Дата закрытия", lambda i: f"{i + 1};Сделка {i};{1000 + i};выиграна;{day(i)}"),
}

for name, (header, row) in FILES.items():
    with open(name, "w") as f:
        f.write(header + "\n")
        for i in range(N):
            f.write(row(i) + "\n")
