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


with open("clients.csv", "w") as f:
    f.write("Название;Телефон;Менеджер\n")
    for i in range(N):
        f.write(f"ООО «Клиент {i}»;{phone(900, i)};ivanov\n")
with open("contacts.csv", "w") as f:
    f.write("Клиент;ФИО;Телефон;Email\n")
    for i in range(N):
        f.write(f"{phone(900, i)};Контакт {i};{phone(950, i)};c{i}@example.ru\n")
with open("history.csv", "w") as f:
    f.write("ID клиента;Тип;Дата;Автор;Тема;Результат\n")
    for i in range(N):
        f.write(f"{i + 1};Звонок;{1 + i % 28:02d}.{1 + i % 12:02d}.2025 10:{i % 60:02d};ivanov;Звонок;Поговорили\n")
with open("deals.csv", "w") as f:
    f.write("ID клиента;Название;Сумма;Статус;Дата закрытия\n")
    for i in range(N):
        f.write(f"{i + 1};Сделка {i};{1000 + i};выиграна;{1 + i % 28:02d}.{1 + i % 12:02d}.2025\n")
