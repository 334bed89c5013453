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
    <message>
        <source>Locked after {minutes} min without input. Log in again.</source>
        <translation>Zablokowano po {minutes} min bez aktywności. Zaloguj się ponownie.</translation>
    </message>
</context>
<context>
    <name>CallPanel</name>
    <message>
        <source>Call [{key}]</source>
        <extracomment>The key that places the call. The key that ends it.</extracomment>
        <translation>Zadzwoń [{key}]</translation>
    </message>
    <message>
        <source>Hang up [{key}]</source>
        <translation>Rozłącz [{key}]</translation>
    </message>
    <message>
        <source>Could not call</source>
        <translation>Nie można zadzwonić</translation>
    </message>
    <message>
        <source>Could not call…</source>
        <translation>Nie można zadzwonić…</translation>
    </message>
    <message>
        <source>Not called yet</source>
        <translation>Jeszcze nie dzwoniono</translation>
    </message>
    <message>
        <source>Call state</source>
        <translation>Stan połączenia</translation>
    </message>
    <message>
        <source>Call time</source>
        <translation>Czas połączenia</translation>
    </message>
    <message>
        <source>Asking the telephone system to dial…</source>
        <translation>Zlecanie połączenia centrali…</translation>
    </message>
</context>
<context>
    <name>CallTexts</name>
    <message>
        <source>Dialling…</source>
        <translation>Wybieranie…</translation>
    </message>
    <message>
        <source>Your phone is ringing: pick it up…</source>
        <translation>Dzwoni Twój telefon: odbierz…</translation>
    </message>
    <message>
        <source>Calling the customer…</source>
        <translation>Dzwonienie do klienta…</translation>
    </message>
    <message>
        <source>Connected</source>
        <translation>Połączono</translation>
    </message>
    <message>
        <source>Call ended</source>
        <translation>Połączenie zakończone</translation>
    </message>
    <message>
        <source>Ended: the line was busy</source>
        <translation>Zakończono: linia zajęta</translation>
    </message>
    <message>
        <source>Ended: no answer</source>
        <translation>Zakończono: brak odpowiedzi</translation>
    </message>
    <message>
        <source>Ended: the call could not be placed</source>
        <translation>Zakończono: nie udało się nawiązać połączenia</translation>
    </message>
    <message>
        <source>Ended: your phone was not picked up</source>
        <translation>Zakończono: Twój telefon nie został odebrany</translation>
    </message>
    <message>
        <source>Ended: your phone is not reachable</source>
        <translation>Zakończono: Twój telefon jest nieosiągalny</translation>
    </message>
    <message>
        <source>Ended: hung up before the customer answered</source>
        <translation>Zakończono: rozłączono przed odebraniem przez klienta</translation>
    </message>
    <message>
        <source>The telephone system is down</source>
        <translation>Centrala telefoniczna nie działa</translation>
    </message>
    <message>
        <source>My phone does not work</source>
        <translation>Mój telefon nie działa</translation>
    </message>
    <message>
        <source>Something is wrong with this record</source>
        <translation>Coś jest nie tak z tym rekordem</translation>
    </message>
    <message>
        <source>Another reason</source>
        <translation>Inny powód</translation>
    </message>
</context>
<context>
    <name>CallbackDialog</name>
    <message>
        <source>Call back</source>
        <extracomment>Furthest ahead the picker offers (the server checks the campaign&apos;s own limit).</extracomment>
        <translation>Oddzwonić</translation>
    </message>
    <message>
        <source>Me</source>
        <translation>Ja</translation>
    </message>
    <message>
        <source>Anyone</source>
        <translation>Ktokolwiek</translation>
    </message>
    <message>
        <source>Time in {zone}</source>
        <translation>Czas w strefie {zone}</translation>
    </message>
    <message>
        <source>Date</source>
        <translation>Data</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>Godzina</translation>
    </message>
    <message>
        <source>For</source>
        <translation>Dla</translation>
    </message>
    <message>
        <source>Choose a time in the future.</source>
        <translation>Wybierz czas w przyszłości.</translation>
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
        <source>Customers may not be called now: outside the campaign&apos;s calling hours.</source>
        <translation>Teraz nie wolno dzwonić do klientów: poza godzinami połączeń kampanii.</translation>
    </message>
    <message>
        <source>This customer is on the do-not-call list now. Choose an outcome without calling.</source>
        <translation>Ten klient jest teraz na liście zastrzeżonych numerów. Wybierz wynik bez dzwonienia.</translation>
    </message>
    <message>
        <source>This customer has been called as often as the campaign allows.</source>
        <translation>Do tego klienta dzwoniono już tyle razy, ile pozwala kampania.</translation>
    </message>
    <message>
        <source>A call is already in progress.</source>
        <translation>Połączenie już trwa.</translation>
    </message>
    <message>
        <source>The telephone system is not available. Try again, or choose why you could not call.</source>
        <translation>Centrala telefoniczna jest niedostępna. Spróbuj ponownie albo wybierz, dlaczego nie można zadzwonić.</translation>
    </message>
    <message>
        <source>Your phone is not connected to the telephone system. Check it or ask your supervisor.</source>
        <translation>Twój telefon nie jest połączony z centralą. Sprawdź go lub zapytaj przełożonego.</translation>
    </message>
    <message>
        <source>No tries left for this field.</source>
        <translation>Brak prób dla tego pola.</translation>
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
        <source>The server is busy with many logins. Please try again in a few minutes.</source>
        <translation>Serwer obsługuje teraz wiele logowań. Spróbuj ponownie za kilka minut.</translation>
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
    <message>
        <source>Outside the campaign&apos;s calling hours: no customer may be called now.</source>
        <translation>Poza godzinami połączeń kampanii: teraz nie wolno dzwonić do żadnego klienta.</translation>
    </message>
    <message>
        <source>No customer to call right now. Asking again shortly…</source>
        <translation>Teraz nie ma klienta do połączenia. Wkrótce zapytam ponownie…</translation>
    </message>
</context>
<context>
    <name>Integrity</name>
    <message>
        <source>Custos will not start while a debugger or tracing tool is attached to it. Close that tool and start Custos again.</source>
        <translation>Custos nie uruchomi się, gdy jest do niego podłączony debuger lub narzędzie śledzące. Zamknij to narzędzie i uruchom Custos ponownie.</translation>
    </message>
    <message>
        <source>Custos will not start while a debugger or profiler runs inside it. Start Custos normally.</source>
        <translation>Custos nie uruchomi się, gdy działa w nim debuger lub profiler. Uruchom Custos w zwykły sposób.</translation>
    </message>
    <message>
        <source>Custos will not start: the environment tells it to load display plugins from another folder. Ask IT to remove that setting.</source>
        <translation>Custos nie uruchomi się: ustawienia środowiska każą mu wczytywać wtyczki wyświetlania z innego folderu. Poproś dział IT o usunięcie tego ustawienia.</translation>
    </message>
    <message>
        <source>Custos will not start on this display system (QT_QPA_PLATFORM). Start it from the normal desktop.</source>
        <translation>Custos nie uruchomi się w tym systemie wyświetlania (QT_QPA_PLATFORM). Uruchom go ze zwykłego pulpitu.</translation>
    </message>
    <message>
        <source>Custos will not start: the environment injects a foreign library into it (LD_PRELOAD or similar). Ask IT to remove that setting.</source>
        <translation>Custos nie uruchomi się: ustawienia środowiska wstrzykują do niego obcą bibliotekę (LD_PRELOAD lub podobne). Poproś dział IT o usunięcie tego ustawienia.</translation>
    </message>
    <message>
        <source>Custos stopped: code from outside the installed program was loaded into it.</source>
        <translation>Custos został zatrzymany: wczytano do niego kod spoza zainstalowanego programu.</translation>
    </message>
    <message>
        <source>Custos will not start: the environment makes it run foreign Python code (PYTHONPATH or similar). Ask IT to remove that setting.</source>
        <translation>Custos nie uruchomi się: ustawienia środowiska każą mu uruchamiać obcy kod Pythona (PYTHONPATH lub podobne). Poproś dział IT o usunięcie tego ustawienia.</translation>
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
    <name>OutcomePanel</name>
    <message>
        <source>Notes (optional)</source>
        <translation>Notatki (opcjonalnie)</translation>
    </message>
    <message>
        <source>Notes</source>
        <translation>Notatki</translation>
    </message>
    <message>
        <source>Notes length</source>
        <translation>Długość notatki</translation>
    </message>
    <message>
        <source>Notes warning</source>
        <translation>Ostrzeżenie o notatce</translation>
    </message>
    <message>
        <source>Call first, or choose why you could not call.</source>
        <translation>Najpierw zadzwoń albo wybierz, dlaczego nie można zadzwonić.</translation>
    </message>
    <message>
        <source>Remove the phone number from the notes: notes may not hold one.</source>
        <translation>Usuń numer telefonu z notatki: notatki nie mogą go zawierać.</translation>
    </message>
    <message>
        <source>The note is too long.</source>
        <translation>Notatka jest za długa.</translation>
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
    <name>RecordPanel</name>
    <message>
        <source>Campaign</source>
        <translation>Kampania</translation>
    </message>
    <message>
        <source>Field name</source>
        <translation>Nazwa pola</translation>
    </message>
    <message>
        <source>Phone</source>
        <translation>Telefon</translation>
    </message>
    <message>
        <source>Shown only while the customer is on the line</source>
        <translation>Widoczne tylko podczas rozmowy z klientem</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Stan</translation>
    </message>
    <message>
        <source>Verify with the customer</source>
        <translation>Weryfikacja z klientem</translation>
    </message>
    <message>
        <source>Script</source>
        <translation>Skrypt</translation>
    </message>
    <message>
        <source>{count} more field(s) appear when the customer answers.</source>
        <translation>Dodatkowe pola ({count}) pojawią się, gdy klient odbierze.</translation>
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
        <source>Update</source>
        <translation>Aktualizacja</translation>
    </message>
    <message>
        <source>Waiting for the next record…</source>
        <translation>Oczekiwanie na następny rekord…</translation>
    </message>
    <message>
        <source>Custos {version} is ready and installs when you close the client.</source>
        <translation>Custos {version} jest gotowy i zainstaluje się po zamknięciu klienta.</translation>
    </message>
    <message>
        <source>Custos {version} is available; your IT installs it. Restart the client when asked.</source>
        <translation>Dostępny jest Custos {version}; zainstaluje go dział IT. Uruchom klienta ponownie, gdy zostaniesz o to poproszony.</translation>
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
        <source>Saving the outcome…</source>
        <translation>Zapisywanie wyniku rozmowy…</translation>
    </message>
</context>
<context>
    <name>SessionGuards</name>
    <message>
        <source>No input for a while: in {seconds} s the record is hidden and you must log in again.</source>
        <translation>Brak aktywności: za {seconds} s rekord zostanie ukryty i trzeba będzie zalogować się ponownie.</translation>
    </message>
</context>
<context>
    <name>VerifyPanel</name>
    <message>
        <source>What the customer says</source>
        <translation>Co mówi klient</translation>
    </message>
    <message>
        <source>Value to verify</source>
        <translation>Wartość do weryfikacji</translation>
    </message>
    <message>
        <source>Verify</source>
        <translation>Sprawdź</translation>
    </message>
    <message>
        <source>Verification result</source>
        <translation>Wynik weryfikacji</translation>
    </message>
    <message>
        <source>Field name</source>
        <translation>Nazwa pola</translation>
    </message>
    <message>
        <source>✔ Matches</source>
        <translation>✔ Zgodne</translation>
    </message>
    <message>
        <source>✘ Does not match ({tries} tries left)</source>
        <translation>✘ Niezgodne (pozostało prób: {tries})</translation>
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
