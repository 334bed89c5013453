<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="pl_PL">
<context>
    <name>AppController</name>
    <message>
        <source>Asking for a record…</source>
        <extracomment>How long to wait at a limit when the server named no time. Added to a limit&apos;s wait so that the request arrives after ``retry_at``, not a hair before.</extracomment>
        <translation>Pobieranie rekordu…</translation>
    </message>
</context>
<context>
    <name>EnrolmentDialog</name>
    <message>
        <source>Custos — enrol this computer</source>
        <translation>Custos — rejestracja tego komputera</translation>
    </message>
    <message>
        <source>Enter the enrolment code your supervisor gave you. It works once and binds this computer to you.</source>
        <translation>Wpisz kod rejestracyjny otrzymany od przełożonego. Działa tylko raz i przypisuje ten komputer do Twojego konta.</translation>
    </message>
    <message>
        <source>Deployment configuration file</source>
        <translation>Plik konfiguracji wdrożenia</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>Przeglądaj…</translation>
    </message>
    <message>
        <source>Enrolment code</source>
        <translation>Kod rejestracyjny</translation>
    </message>
    <message>
        <source>Enrol</source>
        <translation>Zarejestruj</translation>
    </message>
    <message>
        <source>Configuration file</source>
        <translation>Plik konfiguracji</translation>
    </message>
    <message>
        <source>Enrolling…</source>
        <translation>Rejestrowanie…</translation>
    </message>
    <message>
        <source>Deployment configuration</source>
        <translation>Konfiguracja wdrożenia</translation>
    </message>
    <message>
        <source>Configuration (*.toml)</source>
        <translation>Konfiguracja (*.toml)</translation>
    </message>
    <message>
        <source>Choose the configuration file and enter the code.</source>
        <translation>Wybierz plik konfiguracji i wpisz kod.</translation>
    </message>
</context>
<context>
    <name>ErrorMessages</name>
    <message>
        <source>Wrong login or password, or your session has ended. Please log in.</source>
        <translation>Nieprawidłowy login lub hasło albo sesja została zakończona. Zaloguj się.</translation>
    </message>
    <message>
        <source>Your session has expired. Please log in again.</source>
        <translation>Sesja wygasła. Zaloguj się ponownie.</translation>
    </message>
    <message>
        <source>This computer could not prove its identity. Ask IT to enrol it again.</source>
        <translation>Nie udało się potwierdzić tożsamości tego komputera. Poproś dział IT o ponowną rejestrację.</translation>
    </message>
    <message>
        <source>The login took too long. Please try again.</source>
        <translation>Logowanie trwało zbyt długo. Spróbuj ponownie.</translation>
    </message>
    <message>
        <source>The enrolment code is wrong, expired or already used.</source>
        <translation>Kod rejestracyjny jest błędny, wygasł lub został już użyty.</translation>
    </message>
    <message>
        <source>This computer is no longer allowed to connect. Contact your supervisor.</source>
        <translation>Ten komputer nie może już łączyć się z serwerem. Skontaktuj się z przełożonym.</translation>
    </message>
    <message>
        <source>You are not allowed to do this.</source>
        <translation>Nie masz uprawnień do tej operacji.</translation>
    </message>
    <message>
        <source>The server does not know this item.</source>
        <translation>Serwer nie rozpoznaje tego elementu.</translation>
    </message>
    <message>
        <source>Your account has been suspended. Contact your supervisor.</source>
        <translation>Twoje konto zostało zawieszone. Skontaktuj się z przełożonym.</translation>
    </message>
    <message>
        <source>Too many failed logins. Try again later.</source>
        <translation>Zbyt wiele nieudanych logowań. Spróbuj ponownie później.</translation>
    </message>
    <message>
        <source>Logging in from this network is not allowed. Contact your supervisor.</source>
        <translation>Logowanie z tej sieci jest niedozwolone. Skontaktuj się z przełożonym.</translation>
    </message>
    <message>
        <source>This record was withdrawn.</source>
        <translation>Ten rekord został wycofany.</translation>
    </message>
    <message>
        <source>This record has already been closed.</source>
        <translation>Ten rekord został już zamknięty.</translation>
    </message>
    <message>
        <source>You have reached your record limit for now. Please wait.</source>
        <translation>Osiągnięto limit rekordów na ten moment. Zaczekaj chwilę.</translation>
    </message>
    <message>
        <source>This client version is too old. Ask IT to update it.</source>
        <translation>Ta wersja aplikacji jest zbyt stara. Poproś dział IT o aktualizację.</translation>
    </message>
    <message>
        <source>The request was too large for the server.</source>
        <translation>Żądanie było zbyt duże dla serwera.</translation>
    </message>
    <message>
        <source>The server refused the request.</source>
        <translation>Serwer odrzucił żądanie.</translation>
    </message>
    <message>
        <source>The server had a problem. Please try again later.</source>
        <translation>Wystąpił problem po stronie serwera. Spróbuj ponownie później.</translation>
    </message>
    <message>
        <source>Cannot reach the server. Check the network connection.</source>
        <translation>Brak połączenia z serwerem. Sprawdź połączenie sieciowe.</translation>
    </message>
    <message>
        <source>The server sent an unexpected answer. Please try again later.</source>
        <translation>Serwer zwrócił nieoczekiwaną odpowiedź. Spróbuj ponownie później.</translation>
    </message>
    <message>
        <source>The secure credential store of this computer is not available.</source>
        <translation>Bezpieczny magazyn poświadczeń tego komputera jest niedostępny.</translation>
    </message>
    <message>
        <source>The deployment configuration is missing or invalid. Contact IT.</source>
        <translation>Brak konfiguracji wdrożenia lub jest ona nieprawidłowa. Skontaktuj się z działem IT.</translation>
    </message>
    <message>
        <source>Displays cannot be reported to the server; records stay hidden until it is reachable.</source>
        <translation>Nie można zgłosić wyświetleń do serwera; rekordy pozostaną ukryte, dopóki serwer nie będzie dostępny.</translation>
    </message>
    <message>
        <source>Something went wrong. Please try again.</source>
        <translation>Coś poszło nie tak. Spróbuj ponownie.</translation>
    </message>
    <message>
        <source>Record limit reached; next at {time}.</source>
        <translation>Osiągnięto limit rekordów; następny o {time}.</translation>
    </message>
    <message>
        <source>Limit of {limit} records a day reached; next at {time}.</source>
        <translation>Osiągnięto limit {limit} rekordów na dzień; następny o {time}.</translation>
    </message>
    <message>
        <source>Limit of {limit} records an hour reached; next at {time}.</source>
        <translation>Osiągnięto limit {limit} rekordów na godzinę; następny o {time}.</translation>
    </message>
    <message>
        <source>Too many failed logins. Try again at {time}.</source>
        <translation>Zbyt wiele nieudanych logowań. Spróbuj ponownie o {time}.</translation>
    </message>
</context>
<context>
    <name>LoginWindow</name>
    <message>
        <source>Custos — log in to {organisation}</source>
        <translation>Custos — logowanie do organizacji {organisation}</translation>
    </message>
    <message>
        <source>Login</source>
        <translation>Login</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>Hasło</translation>
    </message>
    <message>
        <source>Log in</source>
        <translation>Zaloguj</translation>
    </message>
    <message>
        <source>Logging in…</source>
        <translation>Logowanie…</translation>
    </message>
    <message>
        <source>Enter your login and password.</source>
        <translation>Wpisz login i hasło.</translation>
    </message>
</context>
<context>
    <name>Main</name>
    <message>
        <source>Custos</source>
        <translation>Custos</translation>
    </message>
</context>
<context>
    <name>Pending</name>
    <message>
        <source>Waiting for the server: outcomes {outcomes}, display events {events}.</source>
        <translation>Czeka na serwer: wyniki {outcomes}, zdarzenia {events}.</translation>
    </message>
    <message>
        <source>Waiting for the server: outcomes {outcomes}.</source>
        <translation>Czeka na serwer: wyniki {outcomes}.</translation>
    </message>
    <message>
        <source>Waiting for the server: display events {events}.</source>
        <translation>Czeka na serwer: zdarzenia {events}.</translation>
    </message>
</context>
<context>
    <name>RecordCounts</name>
    <message>
        <source>{issued} of {limit} this hour</source>
        <translation>{issued} z {limit} w tej godzinie</translation>
    </message>
    <message>
        <source>{issued} of {limit} today</source>
        <translation>{issued} z {limit} dzisiaj</translation>
    </message>
</context>
<context>
    <name>RecordWindow</name>
    <message>
        <source>Custos — {organisation}</source>
        <translation>Custos — {organisation}</translation>
    </message>
    <message>
        <source>Agent: {login}</source>
        <translation>Konsultant: {login}</translation>
    </message>
    <message>
        <source>Agent</source>
        <translation>Konsultant</translation>
    </message>
    <message>
        <source>Records this hour</source>
        <translation>Rekordy w tej godzinie</translation>
    </message>
    <message>
        <source>Records today</source>
        <translation>Rekordy dzisiaj</translation>
    </message>
    <message>
        <source>Log out</source>
        <translation>Wyloguj</translation>
    </message>
    <message>
        <source>Notice</source>
        <translation>Komunikat</translation>
    </message>
    <message>
        <source>Waiting for the next record…</source>
        <translation>Oczekiwanie na następny rekord…</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <source>Next record</source>
        <translation>Następny rekord</translation>
    </message>
    <message>
        <source>Campaign</source>
        <translation>Kampania</translation>
    </message>
    <message>
        <source>Field name</source>
        <translation>Nazwa pola</translation>
    </message>
    <message>
        <source>Field</source>
        <translation>Pole</translation>
    </message>
    <message>
        <source>Phone</source>
        <translation>Telefon</translation>
    </message>
    <message>
        <source>Script</source>
        <translation>Skrypt rozmowy</translation>
    </message>
    <message>
        <source>Saving the outcome…</source>
        <translation>Zapisywanie wyniku rozmowy…</translation>
    </message>
</context>
<context>
    <name>WatermarkOverlay</name>
    <message>
        <source>Watermark</source>
        <translation>Znak wodny</translation>
    </message>
</context>
</TS>
